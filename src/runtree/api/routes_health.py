"""``GET /healthz``: whether the server runs and its database answers (no key needed: it
is not under ``/api/v1``)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..service.server import Server
from .routes import RuntimeDep
from .schemas import Health, SandboxOut
from .schemas.base import from_record

log = logging.getLogger("runtree.api")

router = APIRouter()


@router.get(
    "/healthz",
    tags=["health"],
    response_model=Health,
    responses={503: {"model": Health, "description": "The database cannot be reached"}},
)
def healthz(rt: RuntimeDep) -> Health | JSONResponse:
    """``ok`` when the server runs and its database answers; 503 otherwise."""
    try:
        revision = rt.store.schema_revision()
    except Exception:
        log.warning("health check: the database cannot be reached", exc_info=True)
        return JSONResponse(
            Health(status="unavailable", database=False).model_dump(mode="json"),
            status_code=503,
        )
    return Health(status="ok", database=True, schema_revision=revision, sandbox=_sandbox_out(rt))


def _sandbox_out(rt: Server) -> SandboxOut | None:
    report = rt.sandbox
    if report is None:
        return None
    return from_record(SandboxOut, report)
