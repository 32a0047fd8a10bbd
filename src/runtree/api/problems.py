"""Error responses: ``application/problem+json`` (RFC 9457) for every error the API returns.

Every problem has ``type`` (``https://runtree.dev/problems/<slug>``, stable and
machine-readable), ``title`` (the same for every occurrence of a type), ``status``, ``detail``
(this occurrence, in words) and extension members naming what is at fault: ``field``,
``line``/``column``, ``errors``, ``limit`` ...

The handlers here translate the errors the service and store raise on purpose; anything else
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

from ..errors import InstrumentError
from ..service import (
    DeliveryRejected,
    Forbidden,
    InputError,
    InvalidKeyRequest,
    InvalidName,
    InvalidSchedule,
    InvalidSettings,
    InvalidWebhook,
    MethodNotAllowed,
    SourceTooLarge,
    Unauthenticated,
)
from ..store import ConflictError, InvalidDataError, NotFoundError

PROBLEM_BASE = "https://runtree.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# slug -> title: the catalogue of problem types.
TITLES: dict[str, str] = {
    "invalid-code": "The code cannot be deployed",
    "invalid-input": "The input does not fit the function's parameters",
    "invalid-name": "Invalid function or namespace name",
    "invalid-settings": "Invalid version settings",
    "source-too-large": "The source is too large",
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
    "signature-invalid": "The webhook signature is missing or invalid",
    "execution-failed": "The function did not succeed",
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
    invalid-code), ``line`` and ``column`` (invalid-code, 1-based), ``errors`` (a list of
    ``{parameter, message}`` for invalid-input; of ``{location, field, message}`` for
    invalid-request), ``limit`` in bytes (body-too-large, source-too-large), ``kind`` and
    ``key`` (not-found, conflict), ``incident`` (internal-error: quote it when reporting),
    ``execution_id`` and ``execution_status`` (execution-failed, from a webhook)."""

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


async def _instrument_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InstrumentError)
    return problem_response(
        422, "invalid-code", f"line {exc.lineno}, column {exc.col}: {exc.msg}",
        field="code", line=exc.lineno, column=exc.col,
    )


async def _input_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    return problem_response(
        422, "invalid-input", str(exc),
        errors=[{"parameter": p.parameter, "message": p.message} for p in exc.problems],
    )


async def _invalid_name(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidName)
    return problem_response(422, "invalid-name", str(exc), field=exc.field)


async def _invalid_settings(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidSettings)
    return problem_response(422, "invalid-settings", str(exc), field=exc.field)


async def _source_too_large(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SourceTooLarge)
    return problem_response(422, "source-too-large", str(exc), field="code", limit=exc.limit)


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFoundError)
    return problem_response(404, "not-found", str(exc), kind=exc.kind, key=exc.key)


async def _invalid_data(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(422, "invalid-data", str(exc))


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_error(error) for error in exc.errors()]
    first = errors[0] if errors else {"location": "body", "field": "", "message": "invalid"}
    where = first["field"] or first["location"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem_response(
        422, "invalid-request", f"{where}: {first['message']}{more}",
        field=where, errors=errors,
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
            405, "method-not-allowed", f"allowed methods: {allowed}" if allowed else
            "method not allowed", headers=headers,
        )
    detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    if exc.status_code == 400:  # FastAPI could not read the body (nested too deeply ...)
        return problem_response(400, "invalid-request", detail, headers=headers, field="body")
    return problem_response(exc.status_code, "http-error", detail, headers=headers)


async def _unauthenticated(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})


async def _forbidden(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    return problem_response(403, "forbidden", str(exc))


async def _conflict(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConflictError)
    return problem_response(409, "conflict", str(exc), kind=exc.kind, key=exc.key)


async def _invalid_option(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidKeyRequest | InvalidWebhook | InvalidSchedule)
    return problem_response(422, "invalid-request", str(exc), field=exc.field)


async def _method_not_allowed(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(405, "method-not-allowed", str(exc), headers={"Allow": "POST"})


async def _delivery_rejected(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DeliveryRejected)
    return problem_response(exc.status, "signature-invalid", str(exc))


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn runtree's errors into problem responses."""
    app.add_exception_handler(InstrumentError, _instrument_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(InvalidName, _invalid_name)
    app.add_exception_handler(InvalidSettings, _invalid_settings)
    app.add_exception_handler(SourceTooLarge, _source_too_large)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(InvalidDataError, _invalid_data)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Unauthenticated, _unauthenticated)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(ConflictError, _conflict)
    for option_error in (InvalidKeyRequest, InvalidWebhook, InvalidSchedule):
        app.add_exception_handler(option_error, _invalid_option)
    app.add_exception_handler(MethodNotAllowed, _method_not_allowed)
    app.add_exception_handler(DeliveryRejected, _delivery_rejected)
