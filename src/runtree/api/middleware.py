"""Two small ASGI middlewares: a request body size limit and a catch-all for unexpected errors.

Both are plain ASGI (no per-request task or stream wrapping), so they add microseconds.
"""

from __future__ import annotations

import logging
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .problems import problem_response

log = logging.getLogger("runtree.api")


class BodyLimitMiddleware:
    """Answers 413 (problem+json, with the ``limit`` in bytes) to an HTTP request whose body
    is larger than ``limit`` bytes.

    A ``Content-Length`` over the limit is refused before anything is read. Otherwise the body
    is read (and counted) before the application sees it, so a body sent without a length, or
    with a false one, is refused as soon as it passes the limit; the application then receives
    the body in one message.
    """

    def __init__(
        self, app: ASGIApp, limit: int, prefix_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.prefix_limits = dict(prefix_limits or {})

    def limit_for(self, scope: Scope) -> int:
        """The limit of this request: that of the first prefix of ``prefix_limits`` its
        path starts with (``/hooks/`` has its own), else ``limit``."""
        path = scope.get("path", "")
        for prefix, limit in self.prefix_limits.items():
            if path.startswith(prefix):
                return limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # http.disconnect, when it comes

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413,
            "body-too-large",
            f"the request body is larger than the limit of {limit} bytes",
            limit=limit,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class CatchAllMiddleware:
    """Turns an exception nobody handled into a generic 500 problem.

    The exception is logged with its traceback and an ``incident`` id; the response carries
    only that id, never the exception's text, a stack trace or a file path. If the response
    had already started, the exception is logged and re-raised so the server aborts the
    connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = secrets.token_hex(8)
            log.exception(
                "unhandled error in %s %s (incident %s)",
                scope.get("method"),
                scope.get("path"),
                incident,
                extra={
                    "fields": {
                        "incident": incident,
                        "request_id": scope.get("state", {}).get("request_id"),
                    }
                },
            )
            if started:
                raise
            response = problem_response(
                500,
                "internal-error",
                f"an unexpected error occurred; it was logged as incident {incident}",
                incident=incident,
            )
            await response(scope, receive, send)
