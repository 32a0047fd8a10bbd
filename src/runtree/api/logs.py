"""The server's log: human-readable text (the default) or JSON lines (``--log-format json``).

In JSON mode every log line on stderr is one JSON object -- runtree's own records,
uvicorn's (``uvicorn.error``) and any library's warnings alike::

    {
        "time": "2026-12-05T06:30:00.123456Z",
        "level": "info",
        "logger": "runtree.access",
        "message": "GET /api/v1/executions/0f3c... 200",
        "request_id": "...",
        "method": "GET",
        "path": "/api/v1/executions/0f3c...",
        "status": 200,
        "duration_ms": 3.1,
        "key_id": "rtk_1a2b3c4d5e6f",
        "execution_id": "0f3c...",
    }

A record's structured fields are the ``fields`` mapping passed as ``extra={"fields": {...}}``;
they become top-level members (never overriding ``time``, ``level``, ``logger`` or
``message``). An exception's traceback is the ``exception`` member.

:class:`RequestLogMiddleware` gives every HTTP request an id -- the caller's ``X-Request-ID``
when it is a sane token, else a new one -- echoed in the response's ``X-Request-ID`` header
in both modes, and logs one ``runtree.access`` line per request (JSON mode only: in text mode
uvicorn's access log stays as it was).
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..environment import LOG_FORMATS

ACCESS_LOGGER = "runtree.access"
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is kept when it is this sane (no control characters, bounded).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
_RESERVED = ("time", "level", "logger", "message")

access_log = logging.getLogger(ACCESS_LOGGER)


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        document: dict[str, Any] = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if key not in _RESERVED:
                    document[str(key)] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, default=str, ensure_ascii=False)


def logging_config(log_format: str) -> dict[str, Any] | None:
    """The ``logging.config.dictConfig`` for ``runtree serve`` (uvicorn's ``log_config``):
    ``None`` for text (uvicorn's own default configuration, as before); for ``json``, one
    stderr handler with :class:`JsonFormatter` for uvicorn's loggers, runtree's (INFO and
    up) and the root logger (WARNING and up)."""
    if log_format == "text":
        return None
    if log_format != "json":
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            # runtree.access logs each request with more than uvicorn's access line says.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "runtree": {"handlers": ["json"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["json"], "level": "WARNING"},
    }


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` for a record with structured ``values`` (``None`` values left out)."""
    return {"fields": {key: value for key, value in values.items() if value is not None}}


class RequestLogMiddleware:
    """Request ids, and one access-log record per HTTP request (see the module docstring):
    method, path, status, duration in milliseconds, the caller's key id (its public prefix)
    and the execution the request concerns (a path's ``execution_id``, or the one it started:
    ``request.state.execution_id``). Plain ASGI: it adds microseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500  # what the client gets when nothing was sent (the catch-all answers)
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                self._log(scope, request_id, status, time.perf_counter() - start)

    @staticmethod
    def _log(scope: Scope, request_id: str, status: int, elapsed: float) -> None:
        state = scope.get("state", {})
        principal = state.get("principal")
        execution_id = state.get("execution_id") or scope.get("path_params", {}).get("execution_id")
        method, path = scope.get("method", ""), scope.get("path", "")
        access_log.info(
            "%s %s %d",
            method,
            path,
            status,
            extra=fields(
                request_id=request_id,
                method=method,
                path=path,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
                key_id=getattr(principal, "key_prefix", None),
                execution_id=execution_id,
            ),
        )


def _request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            try:
                given: str = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if _REQUEST_ID.fullmatch(given):
                return given
            break
    return secrets.token_hex(16)
