"""The FastAPI application: :func:`create_app`.

``create_app(settings)`` is what ``runtree serve`` runs. Its lifespan opens the store
(migrating it), recovers from a crash, starts the local dispatcher (zygote-forked workers) and,
on shutdown, stops the dispatcher (running executions get ``settings.shutdown_grace_s``
seconds), closes the launcher and the store. Tests may inject a store and/or a dispatcher;
injected objects are the caller's to start and stop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from .. import __version__
from ..execution.dispatcher import Dispatcher
from ..service.server import Server
from ..settings import Settings
from ..store import Store
from ..ui import install_ui
from .auth import access
from .docs import docs
from .hooks import hooks
from .logs import RequestLogMiddleware
from .metrics import router as metrics_router
from .middleware import BodyLimitMiddleware, CatchAllMiddleware
from .problems import Problem, install_problem_handlers, problem_responses
from .routes import API_PREFIX
from .routes_access import router as access_router
from .routes_compare import router as compare_router
from .routes_executions import router as executions_router
from .routes_find import router as find_router
from .routes_functions import router as functions_router
from .routes_health import router as health_router
from .routes_history import router as history_router
from .routes_retention import router as retention_router
from .routes_run import router as run_router
from .routes_shadow import router as shadow_router
from .routes_workers import router as workers_router
from .waiting import CompletionHub

# Answers smaller than this go uncompressed (compressing them saves less than it costs).
GZIP_MINIMUM_BYTES = 4096

DESCRIPTION = """Deploy plain Python functions, run them in isolated worker processes and read
every call back as a tree of steps.

Errors are `application/problem+json` (RFC 9457): `type` is a stable URI
(`https://runtree.dev/problems/<slug>`); extension members name the offending `field`,
`line`/`column`, `errors` or `limit`."""


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    dispatcher: Dispatcher | None = None,
) -> FastAPI:
    """The runtree HTTP API (``/api/v1``, OpenAPI at ``/api/v1/openapi.json``, docs at
    ``/docs``), ``/healthz``, and the web UI's pages and static files (``/``, ``/static``;
    see :mod:`runtree.ui`).

    Without ``store`` the lifespan opens ``settings.database_url``; without ``dispatcher`` it
    recovers the store and runs executions itself with ``settings.workers`` slots. Request
    bodies over ``settings.max_body_bytes`` are refused with 413. Every request gets an
    ``X-Request-ID`` (the caller's, or a new one) and a ``runtree.access`` log record
    (:mod:`runtree.api.logs`). Answers of 4 KiB or more are gzip-compressed for clients that
    send ``Accept-Encoding: gzip``.

    Requests waiting for an execution are woken by ``app.state.hub`` (a
    :class:`~runtree.api.waiting.CompletionHub`); the dispatcher built here publishes to it.
    An injected dispatcher should publish finished executions to ``app.state.hub.publish``
    too (e.g. through :class:`~runtree.execution.runner.NotifyingRunner`); otherwise waiting
    requests notice the end by polling the store, within half a second.
    """
    hub = CompletionHub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(
            lambda: Server.start(
                settings,
                store=store,
                dispatcher=dispatcher,
                on_finished=hub.publish,
                on_finished_elsewhere=hub.finished_elsewhere,
            )
        )
        app.state.runtime = runtime
        try:
            yield
        finally:
            await run_in_threadpool(runtime.close)

    app = FastAPI(
        title="runtree",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by .docs, from files of this server (no CDN)
        redoc_url=None,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    install_problem_handlers(app)
    # Every /api/v1 route authenticates the caller and checks its role and namespace. The
    # order is the OpenAPI document's (and the order routes are matched in).
    for router in (
        functions_router,
        run_router,
        executions_router,
        access_router,
        compare_router,
        find_router,
        history_router,
        retention_router,
        shadow_router,
        workers_router,
    ):
        app.include_router(
            router,
            dependencies=[Depends(access)],
            responses=problem_responses(400, 401, 403),
        )
    app.include_router(hooks)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(docs)
    # The sign-in form names the admin key's file (its name only: no server paths in pages).
    install_ui(app, admin_key_file=settings.admin_key_path.name if settings.auth else None)
    # Large answers (a 10,000-step execution is ~7 MB of JSON) compress ~30-fold; level 1
    # costs milliseconds where the default level 9 costs a second. Bodies already encoded
    # (outlines, comparisons) pass through.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=1)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.max_body_bytes,
        prefix_limits={"/hooks/": settings.webhook_max_body_bytes},
    )
    app.add_middleware(CatchAllMiddleware)  # also covers the body limit
    # Outermost: every response carries its X-Request-ID, a 500 included, and is logged.
    app.add_middleware(RequestLogMiddleware)
    app.openapi = _openapi_builder(app)  # type: ignore[method-assign]
    app.state.hub = hub
    return app


def _operation_id(route: APIRoute) -> str:
    """OpenAPI ``operationId``: the endpoint function's name (``run_function`` ...)."""
    return route.name


def _openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """FastAPI's OpenAPI document plus the ``Problem`` schema the error responses refer to."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs", {}))
            schemas["Problem"] = problem
            _declare_bearer_auth(document)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _declare_bearer_auth(document: dict[str, Any]) -> None:
    """Every ``/api/v1`` operation needs ``Authorization: Bearer <key>`` (so ``/docs`` offers
    an Authorize button); ``/hooks`` and ``/healthz`` need none."""
    document["components"]["securitySchemes"] = {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (runtree keys create).",
        }
    }
    for path, item in document.get("paths", {}).items():
        if path.startswith(API_PREFIX + "/"):
            for operation in item.values():
                operation["security"] = [{"apiKey": []}]


def app_from_environment() -> FastAPI:
    """``create_app(Settings.load())``: settings from ``RUNTREE_*`` variables, for ASGI
    servers' factory mode (``uvicorn --factory runtree.api.app:app_from_environment``)."""
    return create_app(Settings.load())
