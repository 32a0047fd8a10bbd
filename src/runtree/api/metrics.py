"""``GET /metrics``: the server's Prometheus metrics (:mod:`runtree.service.metrics`).

Protected like the API -- a key with the viewer role or higher, limited to no single namespace
(the metrics name every namespace's functions) -- unless the server runs with
``--metrics-public``. Left out of the OpenAPI document: it is for scrapers, not API clients.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ..errors import Forbidden
from ..models import Permission
from ..service.metrics import CONTENT_TYPE
from .auth import access

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every metric in the Prometheus text format."""
    runtime = request.app.state.runtime
    if not runtime.settings.metrics_public:
        principal = await access(request)
        if principal.namespace is not None:
            raise Forbidden(
                f"the metrics cover every namespace; the key is limited to {principal.namespace!r}",
                permission=Permission.READ,
                namespace=principal.namespace,
            )
    body = await run_in_threadpool(runtime.metrics.exposition)  # reads the store
    return Response(body, media_type=CONTENT_TYPE)
