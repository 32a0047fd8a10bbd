"""``GET /api/v1/workers``: the processes that run executions, and the queues."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from ..service.workers import workers_overview
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, RuntimeDep
from .schemas.workers import QueueOut, WorkerOut, WorkersOut

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))


@router.get("/workers", tags=["workers"], response_model=WorkersOut)
async def list_workers(caller: Caller, rt: RuntimeDep) -> WorkersOut:
    """Live, stopping and lost workers (their slots, queues, heartbeats and what each runs)
    and the depth of every queue. Needs a key not limited to one namespace: the list names
    executions of every namespace."""
    overview = await run_in_threadpool(
        workers_overview, rt.store, caller, heartbeat_s=rt.settings.heartbeat_s
    )
    return WorkersOut(
        workers=[
            WorkerOut(
                id=w.id,
                kind=w.kind,
                host=w.host,
                pid=w.pid,
                slots=w.slots,
                queues=w.queues,
                state="lost" if not w.live else "stopping" if w.stopping else "live",
                started_at=w.started_at,
                heartbeat_at=w.heartbeat_at,
                running=w.running,
            )
            for w in overview.workers
        ],
        queues=[
            QueueOut(queue=q.queue, waiting=q.waiting, running=q.running) for q in overview.queues
        ],
        heartbeat_s=rt.settings.heartbeat_s,
    )
