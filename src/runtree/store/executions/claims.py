"""The queue's side: whether executions are queued, claiming one (the oldest, a given one,
a job's), and handing a running one back to the queue."""

from __future__ import annotations

import dataclasses
import datetime

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ...errors import NotFoundError
from ...models import ExecutionRecord, ExecutionStatus
from .. import jobs
from ..common import rowcount, table
from ..execution_rows import execution_record
from ..schema import ExecutionRow, PayloadRow, StepRow, ValueHashRow, VersionRow, WorldRow
from ..worlds import RECORD
from .lookup import STATUS, locked_entity, locked_row

_EXECUTIONS = table(ExecutionRow)
_HAS_QUEUED = (
    select(_EXECUTIONS.c.id).where(_EXECUTIONS.c.status == ExecutionStatus.QUEUED.value).limit(1)
)
_COUNT_QUEUED = select(func.count()).where(_EXECUTIONS.c.status == ExecutionStatus.QUEUED.value)
_NEXT_QUEUED = (
    select(_EXECUTIONS)
    .where(_EXECUTIONS.c.status == ExecutionStatus.QUEUED.value)
    .order_by(_EXECUTIONS.c.queued_at, _EXECUTIONS.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_START = (
    update(_EXECUTIONS)
    .where(
        _EXECUTIONS.c.id == bindparam("execution_id"),
        _EXECUTIONS.c.status == ExecutionStatus.QUEUED.value,
    )
    .values(
        status=ExecutionStatus.RUNNING.value,
        started_at=bindparam("new_started_at"),
        worker_id=bindparam("new_worker_id"),
    )
)
# A job's claim: _START, or -- run again after its answer was lost -- the claim it made
# (running, with this worker and this claim's own started_at): a retry recognises its own
# committed claim and nobody else's.
_CLAIM = (
    update(_EXECUTIONS)
    .where(
        _EXECUTIONS.c.id == bindparam("execution_id"),
        or_(
            _EXECUTIONS.c.status == ExecutionStatus.QUEUED.value,
            and_(
                _EXECUTIONS.c.status == ExecutionStatus.RUNNING.value,
                _EXECUTIONS.c.worker_id == bindparam("new_worker_id"),
                _EXECUTIONS.c.started_at == bindparam("new_started_at"),
            ),
        ),
    )
    .values(
        status=ExecutionStatus.RUNNING.value,
        started_at=bindparam("new_started_at"),
        worker_id=bindparam("new_worker_id"),
    )
    .returning(*_EXECUTIONS.c)
)


def has_queued(session: Session) -> bool:
    """Whether any execution is queued (a cheap read, to skip taking the write lock)."""
    return session.scalar(_HAS_QUEUED) is not None


def count_queued(session: Session) -> int:
    """How many executions are queued (an index-only count: ``ix_executions_status_queued_at``)."""
    return int(session.scalar(_COUNT_QUEUED) or 0)


def claim_next_execution(
    session: Session, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """Move the oldest queued execution to ``running`` for ``worker_id``; ``None`` if none.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent claimers pass each other's rows.
    SQLite: the transaction holds the write lock from its first statement.
    """
    for _ in range(3):
        row = session.execute(_NEXT_QUEUED).first()
        if row is None:
            return None
        if _start(session, row.id, worker_id, now):
            return _started(execution_record(row), worker_id, now)
    return None  # pragma: no cover - only if the guard kept failing, which locks prevent


def claim_next(
    session: Session, worker_id: str, now: datetime.datetime
) -> tuple[ExecutionRecord | None, bool]:
    """:func:`claim_next_execution`, and whether other executions are still queued."""
    record = claim_next_execution(session, worker_id, now)
    return record, record is not None and has_queued(session)


def claim_execution(
    session: Session, execution_id: str, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """Move this execution to ``running`` if it is still queued; else ``None``. Its waiting
    job, if any, is deleted with it (it runs here, not from the queue)."""
    row = locked_row(session, execution_id)
    if row.status != ExecutionStatus.QUEUED or not _start(session, row.id, worker_id, now):
        return None
    if jobs.defers_jobs(session):
        jobs.cancel(session, execution_id, abort=False)
    return _started(execution_record(row), worker_id, now)


def claim_for_job(
    session: Session, execution_id: str, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """:func:`claim_execution` by the worker running the execution's job (which keeps its
    job): one guarded ``UPDATE ... RETURNING``, atomic on its own, so it needs no
    transaction around it. Raises :class:`NotFoundError` for an unknown id.

    Idempotent for one claim, ``(worker_id, now)``: run again with the same values after
    its answer was lost, it finds the execution it already moved to ``running`` and returns
    it again; an execution claimed by any other claim (another worker, or another ``now``)
    gives ``None``."""
    row = session.execute(
        _CLAIM, {"execution_id": execution_id, "new_started_at": now, "new_worker_id": worker_id}
    ).first()
    if row is not None:
        return execution_record(row)
    if session.scalar(STATUS, {"execution_id": execution_id}) is None:
        raise NotFoundError("execution", execution_id)
    return None  # no longer queued: cancelled, or claimed already


def requeue_execution(
    session: Session, execution_id: str, worker_id: str | None, now: datetime.datetime
) -> bool:
    """Put a ``running`` execution back in the queue to run again from the start: its steps
    of this attempt are deleted, and on PostgreSQL a new job is deferred unless
    ``worker_id`` is ``None`` (the caller retries the execution's own job). Only when it
    still runs on ``worker_id`` (if given): whether it was requeued.

    Everything of the attempt goes with its steps: their value-index rows (the next attempt
    indexes its own steps under the same step ids) and the recording of the outside world it
    streamed (a deterministic replay's planned row stays: it says what the run replays)."""
    row = locked_entity(session, execution_id)
    if row.status != ExecutionStatus.RUNNING or (
        worker_id is not None and row.worker_id != worker_id
    ):
        return False
    session.execute(delete(ValueHashRow).where(ValueHashRow.execution_id == execution_id))
    session.execute(
        delete(WorldRow).where(WorldRow.execution_id == execution_id, WorldRow.mode == RECORD)
    )
    session.execute(delete(PayloadRow).where(PayloadRow.execution_id == execution_id))
    session.execute(delete(StepRow).where(StepRow.execution_id == execution_id))
    row.status = ExecutionStatus.QUEUED.value
    row.started_at = None
    row.worker_id = None
    row.cancel_requested = False
    session.flush()
    if worker_id is not None and jobs.defers_jobs(session):
        settings = session.scalar(
            select(VersionRow.settings).where(VersionRow.id == row.version_id)
        )
        jobs.defer(session, execution_id, jobs.queue_of(settings))
    return True


def _start(session: Session, execution_id: str, worker_id: str, now: datetime.datetime) -> bool:
    result = session.execute(
        _START, {"execution_id": execution_id, "new_started_at": now, "new_worker_id": worker_id}
    )
    return rowcount(result) == 1


def _started(record: ExecutionRecord, worker_id: str, now: datetime.datetime) -> ExecutionRecord:
    """``record`` as the guarded update in :func:`_start` left it (not read back)."""
    return dataclasses.replace(
        record, status=ExecutionStatus.RUNNING, started_at=now, worker_id=worker_id
    )
