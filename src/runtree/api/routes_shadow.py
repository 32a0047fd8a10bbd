"""Endpoints of shadow replay: a function's shadow reports, and promoting a version.

The deploy endpoint (``PUT /functions/{namespace}/{name}?shadow=N``) starts a report; these
read reports back and make a stored version current. Every path names the namespace, so
:func:`runtree.api.auth.access` checks it; a report of another function is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from .. import service
from ..models import ShadowReportRecord
from ..service.shadow import report_document
from ..store import NotFoundError
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, EXECUTION_ID_PATTERN, Name, Namespace, RuntimeDep
from .schemas import MAX_VERSION
from .schemas.shadow import (
    PromoteRequest,
    PromotionOut,
    ShadowReportList,
    ShadowReportOut,
)

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))
MAX_REPORTS = 50


@router.get(
    "/functions/{namespace}/{name}/shadow-reports",
    tags=["functions"],
    response_model=ShadowReportList,
    responses=problem_responses(404),
)
def list_shadow_reports(
    namespace: Namespace,
    name: Name,
    rt: RuntimeDep,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="Only reports of this version.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_REPORTS, description="How many, newest first.")] = 10,
) -> ShadowReportList:
    """A function's shadow reports, newest first, each with its runs compared."""
    if rt.store.get_function(namespace, name) is None:
        raise NotFoundError("function", f"{namespace}/{name}")
    reports = rt.store.list_shadow_reports(namespace, name, version=version, limit=limit)
    return ShadowReportList(
        reports=[ShadowReportOut.model_validate(report_document(rt.store, r)) for r in reports]
    )


@router.get(
    "/functions/{namespace}/{name}/shadow-reports/{report_id}",
    tags=["functions"],
    response_model=ShadowReportOut,
    responses=problem_responses(404),
)
def get_shadow_report(
    namespace: Namespace,
    name: Name,
    report_id: Annotated[
        str, Path(pattern=EXECUTION_ID_PATTERN, description="Shadow report id (32 hex).")
    ],
    rt: RuntimeDep,
) -> ShadowReportOut:
    """One shadow report: every replayed input with its verdict (same, different output,
    new error, fixed error, different error, different tree, slower), the inputs skipped
    and why, and whether it is clean."""
    report = _report_of(rt.store.get_shadow_report(report_id), namespace, name, report_id)
    return ShadowReportOut.model_validate(report_document(rt.store, report))


def _report_of(
    report: ShadowReportRecord | None, namespace: str, name: str, report_id: str
) -> ShadowReportRecord:
    if report is None or (report.namespace, report.name) != (namespace, name):
        raise NotFoundError("shadow-report", report_id)
    return report


@router.post(
    "/functions/{namespace}/{name}/versions/{number}/promote",
    tags=["functions"],
    response_model=PromotionOut,
    responses=problem_responses(404, 409),
)
def promote_version(
    namespace: Namespace,
    name: Name,
    number: Annotated[int, Path(ge=1, le=MAX_VERSION, description="Version number.")],
    rt: RuntimeDep,
    caller: Caller,
    body: PromoteRequest | None = None,
) -> PromotionOut:
    """Make a stored version the current one (developer role; audited as
    ``function.promote``). With ``require_clean`` a version whose latest shadow report is
    missing, unfinished, against another version than the current one, or not clean is
    refused with 409 ``shadow-not-clean`` and nothing changes."""
    require_clean = body is not None and body.require_clean
    result = service.promote_version(
        rt.store, caller, namespace, name, number, require_clean=require_clean
    )
    return PromotionOut(
        function=result.function,
        previous_version=result.previous,
        current_version=result.current,
        changed=result.changed,
    )


__all__ = ["router"]
