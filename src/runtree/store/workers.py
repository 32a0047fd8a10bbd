"""Workers: the processes that run executions, as they report themselves (heartbeats), and
the depth of each queue. Plain functions over an open session."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..models import ExecutionStatus, QueueDepth, WorkerRecord
from . import jobs
from .schema import ExecutionRow, WorkerRow

# A worker that missed this many heartbeats is lost (the queue settles its executions).
STALE_HEARTBEATS = 4


def register(
    session: Session,
    *,
    worker_id: str,
    kind: str,
    host: str,
    pid: int,
    slots: int,
    queues: Sequence[str],
    now: datetime.datetime,
) -> None:
    """Record a worker that starts (replacing an earlier row with its id)."""
    session.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))
    session.add(
        WorkerRow(
            id=worker_id,
            kind=kind,
            host=host,
            pid=pid,
            slots=slots,
            queues=list(queues),
            started_at=now,
            heartbeat_at=now,
            stopping=False,
        )
    )


def heartbeat(
    session: Session, worker_id: str, now: datetime.datetime, *, stopping: bool = False
) -> None:
    session.execute(
        update(WorkerRow)
        .where(WorkerRow.id == worker_id)
        .values(heartbeat_at=now, stopping=stopping)
    )


def unregister(session: Session, worker_id: str) -> None:
    session.execute(delete(WorkerRow).where(WorkerRow.id == worker_id))


def prune(session: Session, before: datetime.datetime) -> int:
    """Forget workers whose last heartbeat is older than ``before``; how many."""
    result = session.execute(delete(WorkerRow).where(WorkerRow.heartbeat_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def list_workers(session: Session, live_after: datetime.datetime) -> list[WorkerRecord]:
    """Every recorded worker, live ones first, with the executions each runs now."""
    running: dict[str, list[str]] = {}
    stmt = select(ExecutionRow.worker_id, ExecutionRow.id).where(
        ExecutionRow.status == ExecutionStatus.RUNNING.value
    )
    for worker_id, execution_id in session.execute(stmt):
        running.setdefault(worker_id or "", []).append(execution_id)
    records = [
        WorkerRecord(
            id=row.id,
            kind=row.kind,
            host=row.host,
            pid=row.pid,
            slots=row.slots,
            queues=list(row.queues),
            started_at=row.started_at,
            heartbeat_at=row.heartbeat_at,
            stopping=row.stopping,
            live=row.heartbeat_at >= live_after,
            running=sorted(running.get(row.id, [])),
        )
        for row in session.scalars(select(WorkerRow))
    ]
    records.sort(key=lambda w: (not w.live, w.host, w.id))
    return records


def queue_depths(session: Session) -> list[QueueDepth]:
    """Per queue, executions waiting and running: from the job queue on PostgreSQL; on
    SQLite (one embedded queue, ``default``) from the executions table."""
    if session.get_bind().dialect.name == "postgresql" and jobs.has_queue(session):
        depths = jobs.queue_depths(session)
    else:
        counts = dict(
            session.execute(
                select(ExecutionRow.status, func.count())
                .where(
                    ExecutionRow.status.in_(
                        [ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value]
                    )
                )
                .group_by(ExecutionRow.status)
            ).all()
        )
        depths = {
            jobs.DEFAULT_QUEUE: (
                int(counts.get(ExecutionStatus.QUEUED.value, 0)),
                int(counts.get(ExecutionStatus.RUNNING.value, 0)),
            )
        }
    depths.setdefault(jobs.DEFAULT_QUEUE, (0, 0))
    return [QueueDepth(queue=q, waiting=w, running=r) for q, (w, r) in sorted(depths.items())]
