"""Endpoints of retention (admin only, changes audited): the policies, pruning now (or a
dry run), and the storage each namespace and function takes (:mod:`runtree.service.retention`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from ..service import retention
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, RuntimeDep
from .schemas import (
    PruneReport,
    PruneRequest,
    RetentionPolicies,
    RetentionPolicyOut,
    RetentionRequest,
    StorageReport,
    retention_policy_out,
)

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))


@router.get("/retention", tags=["retention"], response_model=RetentionPolicies)
def list_policies(caller: Caller, rt: RuntimeDep) -> RetentionPolicies:
    """Every retention policy (admin). Data no policy covers is kept."""
    records = retention.list_policies(rt.store, caller)
    return RetentionPolicies(policies=[retention_policy_out(r) for r in records])


@router.put("/retention", tags=["retention"], response_model=RetentionPolicyOut)
def set_policy(body: RetentionRequest, caller: Caller, rt: RuntimeDep) -> RetentionPolicyOut:
    """Create or replace one policy (admin; audited as ``retention.set``)."""
    target = retention.parse_target(body.target, body.kind)
    record = retention.set_policy(
        rt.store, caller, target, keep_days=body.keep_days, keep_last=body.keep_last
    )
    return retention_policy_out(record)


@router.delete(
    "/retention",
    tags=["retention"],
    response_model=RetentionPolicyOut,
    responses=problem_responses(404),
)
def remove_policy(
    caller: Caller,
    rt: RuntimeDep,
    kind: Annotated[
        Literal["executions", "deliveries", "audit"], Query(description="What it limits.")
    ] = "executions",
    target: Annotated[
        str | None, Query(max_length=401, description="Executions: *, NS or NS/NAME.")
    ] = None,
) -> RetentionPolicyOut:
    """Remove one policy (admin; audited as ``retention.unset``): the next less specific
    policy applies, or none."""
    record = retention.remove_policy(rt.store, caller, retention.parse_target(target, kind))
    return retention_policy_out(record)


@router.post("/retention/prune", tags=["retention"], response_model=PruneReport)
async def prune(body: PruneRequest, caller: Caller, rt: RuntimeDep) -> Any:
    """Prune what the policies let go now, in the server's small batches (admin; audited
    as ``retention.prune``), or with ``dry_run`` say what would go. Answers when done."""
    pruner = rt.pruner
    if pruner is None:  # the loop is off (RUNTREE_RETENTION=off): a pass of its own
        return await run_in_threadpool(
            retention.prune, rt.store, caller, dry_run=body.dry_run, observer=rt.metrics
        )
    return await run_in_threadpool(pruner.run, caller, dry_run=body.dry_run)


@router.get("/storage", tags=["retention"], response_model=StorageReport)
def storage(caller: Caller, rt: RuntimeDep) -> Any:
    """Sizes per namespace and function -- executions, steps, payload bytes -- with each
    function's policy; deliveries, audit entries, the database (admin). Reads every step:
    it takes longer the bigger the database."""
    return retention.storage(rt.store, caller)
