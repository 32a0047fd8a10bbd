"""The server's problem documents as runtree's errors.

The client raises what the local code paths raise for the same problems --
:class:`~runtree.errors.NotFoundError`, :class:`~runtree.errors.InputError`,
:class:`~runtree.errors.Unauthenticated`, :class:`~runtree.errors.Forbidden` ... -- so the
CLI prints the same thing either way.
"""

from __future__ import annotations

import httpx

from ..errors import (
    ConflictError,
    Forbidden,
    InputError,
    InputProblem,
    InstrumentError,
    NotFoundError,
    RemoteError,
    RuntreeError,
    Unauthenticated,
    UntestableStep,
)
from ..models import Permission


def problem_error(response: httpx.Response) -> RuntreeError:
    """The error an answer of status 400 or more stands for, read from its problem document
    (RFC 9457): the error the local code path raises for the same problem, else a
    :class:`~runtree.errors.RemoteError` with the status and the detail."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or response.reason_phrase or "error")
    slug = str(body.get("type", "")).rsplit("/", 1)[-1]
    status = response.status_code
    if status == 401:
        return Unauthenticated(detail)
    if status == 403:
        return Forbidden(detail, permission=Permission.READ, namespace=None)
    if status == 404 and body.get("kind"):
        return NotFoundError(str(body["kind"]), str(body.get("key", "")))
    if status == 409:
        return ConflictError(str(body.get("kind", "")), str(body.get("key", "")), detail)
    if slug == "untestable-step":
        return UntestableStep(str(body.get("step", "")), detail)
    if slug == "invalid-input" and isinstance(body.get("errors"), list):
        return InputError(
            [
                InputProblem(str(e.get("parameter", "")), str(e.get("message", "")))
                for e in body["errors"]
                if isinstance(e, dict)
            ]
        )
    if slug == "invalid-code" and body.get("line"):
        message = detail.split(": ", 1)[-1]
        return InstrumentError(message, int(body["line"]), int(body.get("column") or 1))
    if status == 404:
        return RemoteError(status, f"not found on the server: {detail}")
    return RemoteError(status, detail)
