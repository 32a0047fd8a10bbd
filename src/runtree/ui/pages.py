"""Page routes of the web UI (docs/design.md, "Web UI routes") and its static files.

Each page is a small HTML shell rendered with Jinja2 (autoescaped): the header, an empty
``<main>`` naming what to show in ``data-*`` attributes, and the page's ES module. The modules
fetch JSON from ``/api/v1`` -- sending the API key a user entered, when the server asks for
one -- and build the page with DOM calls that never parse user data as HTML. Pages carry a
Content-Security-Policy that allows scripts and styles from this origin only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response
from starlette.types import Scope

from .. import __version__

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

pages = APIRouter(include_in_schema=False)


class _StaticFiles(StaticFiles):
    """Static files that browsers revalidate on every load, so an upgraded server never runs
    a stale module next to fresh ones."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _page(request: Request, template: str, title: str, **data: Any) -> HTMLResponse:
    key_file = getattr(request.app.state, "admin_key_file", None)
    if key_file:
        data["admin_key_file"] = key_file
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"title": title, "version": __version__, "data": data},
        headers=SECURITY_HEADERS,
    )
    return response


@pages.get("/", response_class=HTMLResponse)
def executions_page(request: Request) -> HTMLResponse:
    """The executions list: newest first, filters, search, live updates."""
    return _page(request, "executions.html", "Executions")


@pages.get("/executions", response_class=RedirectResponse)
def executions_redirect() -> RedirectResponse:
    return RedirectResponse("/", status_code=308)


@pages.get("/executions/{execution_id}", response_class=HTMLResponse)
def execution_page(
    request: Request,
    execution_id: Annotated[str, PathParam(max_length=64)],
    step: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """One execution: the call tree, the waterfall and the selected step
    (``?step=ID``)."""
    return _page(
        request,
        "execution.html",
        f"Execution {execution_id[:8]}",
        execution_id=execution_id,
        step=step or "",
    )


@pages.get("/compare/{a}/{b}", response_class=HTMLResponse)
def compare_page(
    request: Request,
    a: Annotated[str, PathParam(max_length=64)],
    b: Annotated[str, PathParam(max_length=64)],
) -> HTMLResponse:
    """Two executions compared by their trees (``?row=N`` selects an aligned row)."""
    return _page(request, "compare.html", f"Compare {a[:8]} · {b[:8]}", a=a, b=b)


@pages.get("/find", response_class=HTMLResponse)
def find_page(request: Request) -> HTMLResponse:
    """Which executions, steps and functions handled a value (``?value=&key=&function=``)."""
    return _page(request, "find.html", "Find a value")


@pages.get("/functions", response_class=HTMLResponse)
def functions_page(request: Request) -> HTMLResponse:
    """Every function with its current version, last run and run count."""
    return _page(request, "functions.html", "Functions")


@pages.get("/functions/{namespace}/{name}", response_class=HTMLResponse)
def function_page(
    request: Request,
    namespace: Annotated[str, PathParam(max_length=200)],
    name: Annotated[str, PathParam(max_length=200)],
) -> HTMLResponse:
    """One function: versions, source, diff, run form and statistics."""
    return _page(request, "function.html", f"{namespace}/{name}", namespace=namespace, name=name)


@pages.get("/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request) -> HTMLResponse:
    """Every webhook: its URL, function, signature scheme and mode."""
    return _page(request, "webhooks.html", "Webhooks")


@pages.get("/webhooks/{path}", response_class=HTMLResponse)
def webhook_page(
    request: Request,
    path: Annotated[str, PathParam(max_length=200)],
    delivery: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    """One webhook and its deliveries (``?delivery=ID`` opens one, with its replay form)."""
    return _page(request, "webhook.html", f"Webhook {path}", path=path, delivery=delivery or "")


@pages.get("/schedules", response_class=HTMLResponse)
def schedules_page(request: Request) -> HTMLResponse:
    """Every schedule: next fire times in its time zone, its last runs, late and missed."""
    return _page(request, "schedules.html", "Schedules")


@pages.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request) -> HTMLResponse:
    """The workers (live, stopping, lost), their slots and executions, and the queues."""
    return _page(request, "workers.html", "Workers")


@pages.get("/keys", response_class=HTMLResponse)
def keys_page(request: Request) -> HTMLResponse:
    """API keys (admins): list, create (the key shown once), revoke."""
    return _page(request, "keys.html", "API keys")


@pages.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> HTMLResponse:
    """The audit log (admins), newest first."""
    return _page(request, "audit.html", "Audit log")


def install_ui(app: FastAPI, *, admin_key_file: str | None = None) -> None:
    """Add the page routes and ``/static`` to ``app``. ``admin_key_file``: the name of the file
    the first admin key was saved to, which the sign-in form mentions."""
    app.state.admin_key_file = admin_key_file
    app.include_router(pages)
    app.mount("/static", _StaticFiles(directory=str(STATIC_DIR)), name="static")
