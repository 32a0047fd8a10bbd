"""What the endpoints of ``/api/v1`` (docs/http-api.md) share: the prefix, the dependencies
that hand an endpoint the server and the completion hub, the path parameters and id patterns,
and where an execution lives.

The endpoints themselves are in the ``routes_*`` modules, one resource each, and
``/healthz`` in :mod:`.routes_health`; :func:`runtree.api.app.create_app` includes their
routers, in the order they are matched and documented. Endpoints translate HTTP to calls of
:mod:`runtree.service` and the store's reads, and records to :mod:`.schemas` models; they
decide nothing about functions or executions themselves. Plain ``def`` endpoints run in the
threadpool (the store blocks); the run endpoint is ``async`` so a request waiting for an
execution holds no thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from ..service.server import Server
from .waiting import CompletionHub, get_hub

API_PREFIX = "/api/v1"
EXECUTION_ID_PATTERN = "^[0-9a-f]{32}$"
FUNCTION_FILTER_PATTERN = r"^(\w+/)?\w+$"


async def get_runtime(request: Request) -> Server:
    """FastAPI dependency: the application's :class:`~runtree.service.server.Server` (async,
    so resolving it costs no thread hop)."""
    server: Server = request.app.state.runtime
    return server


RuntimeDep = Annotated[Server, Depends(get_runtime)]
HubDep = Annotated[CompletionHub, Depends(get_hub)]
Namespace = Annotated[str, Path(description="Namespace (a Python identifier).")]
Name = Annotated[str, Path(description="Function name: the entry point's name.")]
ExecutionId = Annotated[str, Path(description="Execution id (32 hex characters).")]


def execution_location(execution_id: str) -> str:
    """The path of an execution (a ``Location`` header's value)."""
    return f"{API_PREFIX}/executions/{execution_id}"
