"""Error responses: ``application/problem+json`` (RFC 9457) for every error the API returns.

Every problem has ``type`` (``https://runtree.dev/problems/<slug>``, stable and
machine-readable), ``title`` (the same for every occurrence of a type), ``status``, ``detail``
(this occurrence, in words) and extension members naming what is at fault: ``field``,
``line``/``column``, ``errors``, ``limit`` ...

One handler translates every :class:`runtree.errors.RuntreeError` that carries an HTTP status
(each error class says its status, problem type and extension members); anything else
becomes a generic 500 (see :class:`runtree.api.middleware.CatchAllMiddleware`) whose body never
contains a stack trace, a file path or the exception's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import RuntreeError
from ..jsonlimits import MAX_JSON_DEPTH

PROBLEM_BASE = "https://runtree.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> title: the catalogue of problem types.
TITLES: dict[str, str] = {
    "invalid-code": "The code cannot be deployed",
    "invalid-input": "The input does not fit the function's parameters",
    "invalid-name": "Invalid function or namespace name",
    "invalid-settings": "Invalid version settings",
    "source-too-large": "The source is too large",
    "source-too-complex": "The source has too many syntax-tree nodes",
    "source-check-failed": "Checking the source passed its CPU or memory limit",
    "invalid-request": "The request is not valid",
    "invalid-data": "A value the server cannot accept",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "body-too-large": "The request body is too large",
    "internal-error": "Internal server error",
    "http-error": "HTTP error",
    "unauthorized": "Authentication required",
    "forbidden": "Not allowed",
    "conflict": "Conflict",
    "shadow-not-clean": "The version's shadow report is not clean",
    "signature-invalid": "The webhook signature is missing or invalid",
    "execution-failed": "The function did not succeed",
    "untestable-step": "No test can be generated from this recorded call",
    "secret-key-unavailable": "The server cannot decrypt its stored secrets",
}


class FieldError(BaseModel):
    """One invalid part of a request: ``location`` is ``body``, ``query``, ``path`` or
    ``header``; ``field`` the dotted path inside it (empty for the whole body)."""

    location: str
    field: str
    message: str


class ParameterError(BaseModel):
    """One parameter of the function's entry point at fault."""

    parameter: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document. Which extension members are present depends on
    ``type``: ``field`` (invalid-name, invalid-settings, invalid-request, source-too-large,
    source-too-complex, source-check-failed, invalid-code), ``line`` and ``column``
    (invalid-code, 1-based), ``errors`` (a list of ``{parameter, message}`` for invalid-input;
    of ``{location, field, message}`` for invalid-request), ``limit`` in bytes
    (body-too-large, source-too-large; in nodes for source-too-complex), ``kind`` and
    ``key`` (not-found, conflict, shadow-not-clean), ``incident`` (internal-error: quote it
    when reporting), ``execution_id`` and ``execution_status`` (execution-failed, from a
    webhook), ``step`` (untestable-step: ``EXECUTION:STEP``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_BASE + "invalid-code"])
    title: str
    status: int
    detail: str
    field: str | None = None
    line: int | None = None
    column: int | None = None
    errors: list[ParameterError] | list[FieldError] | None = None
    limit: int | None = None
    kind: str | None = None
    key: str | None = None
    incident: str | None = None
    execution_id: str | None = None
    execution_status: str | None = None
    step: str | None = None


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A ``application/problem+json`` response of type ``slug`` (a key of :data:`TITLES`)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": TITLES[slug],
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


# OpenAPI ``responses`` entries for the problems a route can answer with.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The request body cannot be read (not UTF-8, nested too deeply ...)",
        401: "No API key, or an unknown or revoked one",
        403: "The key's role or namespace does not allow this",
        404: "Unknown function, version or execution",
        405: "Method not allowed",
        409: "Conflicts with an existing resource",
        413: "The request body is larger than the server accepts",
        422: "The request, the code or the input is invalid",
        500: "An unexpected server error (logged; no details are exposed)",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


# --- handlers ---------------------------------------------------------------------------


async def _runtree_error(_: Request, exc: Exception) -> JSONResponse:
    """The problem an error of runtree's names itself (its class says status, type and
    members). An error without a status is the server's own failure: re-raised, so the
    catch-all answers a generic 500 that does not echo it."""
    assert isinstance(exc, RuntreeError)
    if exc.status is None:
        raise exc
    return problem_response(
        exc.status, exc.problem, str(exc), headers=exc.problem_headers(), **exc.problem_members()
    )


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(error) for error in exc.errors()]
    first = errors[0] if errors else {"location": "body", "field": "", "message": "invalid"}
    where = first["field"] or first["location"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem_response(
        422,
        "invalid-request",
        f"{where}: {first['message']}{more}",
        field=where,
        errors=errors,
    )


def _field_error(error: Mapping[str, Any]) -> dict[str, str]:
    """A pydantic error without its ``input`` and ``ctx`` (they may echo large or
    unserializable values)."""
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc else "body"
    path = loc[1:]
    if error.get("type") == "json_invalid":
        path = []  # the character offset is in the message
        ctx = error.get("ctx") or {}
        message = f"invalid JSON: {ctx.get('error', 'cannot be parsed')}"
    elif error.get("type") == "value_error" and (error.get("ctx") or {}).get("error"):
        message = str(error["ctx"]["error"])  # without pydantic's "Value error, " prefix
    else:
        message = str(error.get("msg", "invalid"))
    return {"location": location, "field": ".".join(path), "message": message}


async def _http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 404:
        return problem_response(404, "not-found", "no such resource", headers=headers)
    if exc.status_code == 405:
        allowed = headers.get("Allow", "") if headers else ""
        return problem_response(
            405,
            "method-not-allowed",
            f"allowed methods: {allowed}" if allowed else "method not allowed",
            headers=headers,
        )
    detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        detail = f"the body nests deeper than {MAX_JSON_DEPTH} levels (the limit for JSON values)"
        return problem_response(
            400, "invalid-request", detail, headers=headers, field="body", limit=MAX_JSON_DEPTH
        )
    if exc.status_code == 400:  # FastAPI could not read the body
        return problem_response(400, "invalid-request", detail, headers=headers, field="body")
    return problem_response(exc.status_code, "http-error", detail, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn runtree's errors into problem responses."""
    app.add_exception_handler(RuntreeError, _runtree_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
