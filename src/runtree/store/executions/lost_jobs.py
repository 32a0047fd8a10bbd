"""Settling the job of a worker found dead (no heartbeat; PostgreSQL's job queue): its
execution waits again, is retried, or ends ``crashed`` -- exactly once."""

from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import ExecutionStatus
from .. import jobs
from ..schema import ExecutionRow, VersionRow
from .claims import requeue_execution
from .ends import FINISHED, finish_execution

WORKER_LOST_ERROR = {
    "type": "WorkerLost",
    "message": "the worker running this execution stopped sending heartbeats (killed, or its "
    "machine is gone)",
}


def settle_lost_job(session: Session, job_id: int, now: datetime.datetime, backoff_s: float) -> str:
    """Settle the job of a worker found dead (no heartbeat), exactly once however many
    processes try (the job's row is locked): what became of its execution --

    * ``queued`` (the worker died before claiming it): the job waits again, at once;
    * ``retried``: it ran, and its version allows ``retries`` more than the job's attempts so
      far: back to ``queued`` (its steps deleted), the job runnable again after
      ``backoff_s * 2**attempts`` seconds (Procrastinate's retry);
    * ``crashed``: it ran and may not be retried: it ends ``crashed`` ("worker lost");
    * ``finished``: it had ended already (the worker died after finishing it);
    * ``gone``: the job was settled meanwhile.
    """
    job = jobs.locked_job(session, job_id)
    if job is None or job[0] != "doing":
        return "gone"
    _, attempts, execution_id = job
    row = None if execution_id is None else session.get(ExecutionRow, execution_id)
    if row is not None:
        session.refresh(row, with_for_update=True)
    if row is None or row.status in FINISHED:
        jobs.finish(session, job_id, "succeeded" if row is not None else "failed")
        return "finished"
    if row.status == ExecutionStatus.QUEUED:
        jobs.retry(session, job_id, now)
        return "queued"
    settings = session.scalar(select(VersionRow.settings).where(VersionRow.id == row.version_id))
    allowed = settings.get("retries", 0) if isinstance(settings, dict) else 0
    if isinstance(allowed, int) and attempts < allowed:
        requeue_execution(session, row.id, None, now)
        jobs.retry(session, job_id, now + datetime.timedelta(seconds=backoff_s * 2**attempts))
        return "retried"
    finish_execution(
        session,
        row.id,
        status=ExecutionStatus.CRASHED.value,
        output=None,
        error=dict(WORKER_LOST_ERROR),
        now=now,
    )
    jobs.finish(session, job_id, "failed")
    return "crashed"
