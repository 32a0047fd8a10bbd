"""Executions: queueing, claiming, finishing, cancelling, listing, crash recovery.

Plain functions over an open :class:`~sqlalchemy.orm.Session` inside a *write* transaction
where they change anything (``BEGIN IMMEDIATE`` on SQLite, see :mod:`.engine`). Rows are
locked with ``SELECT ... FOR UPDATE`` before they change (SQLite ignores the clause; its
write lock already serializes writers), and every status change is guarded by the status it
expects, so one execution is never claimed twice nor finished twice.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from sqlalchemy import BigInteger, case, func, literal, select, update
from sqlalchemy.orm import Session

from ..models import (
    FINISHED_STATUSES,
    ExecutionRecord,
    ExecutionStatus,
    StepStatus,
    Trigger,
    VersionRecord,
)
from .common import check_json, chunks, millis_between, to_ns
from .errors import InvalidDataError, NotFoundError
from .ids import new_execution_id
from .schema import ExecutionRow, StepRow, VersionRow

_E = TypeVar("_E", Trigger, ExecutionStatus)

MAX_LIST_LIMIT = 1000

CANCELLED_ERROR = {"type": "Cancelled", "message": "cancelled before it started"}
CRASHED_ERROR = {
    "type": "Crashed",
    "message": "the runtree server stopped while this execution was running",
}

_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_FINISHED = [str(status) for status in FINISHED_STATUSES]


def enqueue_execution(
    session: Session,
    *,
    version: VersionRecord,
    trigger: str,
    input: Any,
    versions: Mapping[str, int],
    replay_of: str | None,
    now: datetime.datetime,
) -> ExecutionRecord:
    """Insert a ``queued`` execution of ``version``."""
    trigger_value = _enum(Trigger, "trigger", trigger)
    check_json("input", input)
    versions_doc = dict(versions)
    check_json("versions", versions_doc)
    if session.get(VersionRow, version.id) is None:
        raise NotFoundError("version", f"{version.qualified_name} v{version.number}")
    if replay_of is not None and session.get(ExecutionRow, replay_of) is None:
        raise NotFoundError("execution", replay_of)
    row = ExecutionRow(
        id=new_execution_id(),
        function_id=version.function_id,
        version_id=version.id,
        namespace=version.namespace,
        name=version.name,
        version=version.number,
        trigger=str(trigger_value),
        status=ExecutionStatus.QUEUED.value,
        input=input,
        output=None,
        error=None,
        versions=versions_doc,
        queued_at=now,
        started_at=None,
        finished_at=None,
        duration_ms=None,
        cancel_requested=False,
        worker_id=None,
        replay_of=replay_of,
    )
    session.add(row)
    session.flush()
    return execution_record(row)


def has_queued(session: Session) -> bool:
    """Whether any execution is queued (a cheap read, to skip taking the write lock)."""
    stmt = select(ExecutionRow.id).where(ExecutionRow.status == ExecutionStatus.QUEUED.value)
    return session.scalar(stmt.limit(1)) is not None


def claim_next_execution(
    session: Session, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """Move the oldest queued execution to ``running`` for ``worker_id``; ``None`` if none.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent claimers pass each other's rows.
    SQLite: the transaction holds the write lock from its first statement.
    """
    stmt = (
        select(ExecutionRow)
        .where(ExecutionRow.status == ExecutionStatus.QUEUED.value)
        .order_by(ExecutionRow.queued_at, ExecutionRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    for _ in range(3):
        row = session.scalars(stmt).first()
        if row is None:
            return None
        if _start(session, row, worker_id, now):
            return execution_record(row)
    return None  # pragma: no cover - only if the guard kept failing, which locks prevent


def claim_execution(
    session: Session, execution_id: str, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """Move this execution to ``running`` if it is still queued; else ``None``."""
    row = _locked(session, execution_id)
    if row.status != ExecutionStatus.QUEUED or not _start(session, row, worker_id, now):
        return None
    return execution_record(row)


def _start(session: Session, row: ExecutionRow, worker_id: str, now: datetime.datetime) -> bool:
    result = session.execute(
        update(ExecutionRow)
        .where(ExecutionRow.id == row.id, ExecutionRow.status == ExecutionStatus.QUEUED.value)
        .values(status=ExecutionStatus.RUNNING.value, started_at=now, worker_id=worker_id)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return False
    session.refresh(row)
    return True


def finish_execution(
    session: Session,
    execution_id: str,
    *,
    status: str,
    output: Any,
    error: Any,
    now: datetime.datetime,
) -> ExecutionRecord:
    """Record the end of an execution unless it has already ended (then it is returned
    unchanged). Its steps still ``running`` become ``interrupted``."""
    status_value = _enum(ExecutionStatus, "status", status)
    if not status_value.finished:
        raise InvalidDataError(f"status must be a finished status, got {status!r}")
    check_json("output", output)
    check_json("error", error)
    row = _locked(session, execution_id)
    if row.status in _FINISHED:
        return execution_record(row)
    _finish(row, status_value, output=output, error=error, now=now)
    interrupt_running_steps(session, [row.id], now)
    session.flush()
    return execution_record(row)


def _finish(
    row: ExecutionRow,
    status: ExecutionStatus,
    *,
    output: Any,
    error: Any,
    now: datetime.datetime,
) -> None:
    row.status = status.value
    row.output = output
    row.error = error
    row.finished_at = now
    row.duration_ms = None if row.started_at is None else millis_between(row.started_at, now)


def request_cancel(session: Session, execution_id: str, now: datetime.datetime) -> ExecutionRecord:
    """Cancel a queued execution at once; flag a running one (``cancel_requested``) for its
    worker to stop; leave a finished one as it is."""
    row = _locked(session, execution_id)
    if row.status == ExecutionStatus.QUEUED:
        row.cancel_requested = True
        _finish(row, ExecutionStatus.CANCELLED, output=None, error=dict(CANCELLED_ERROR), now=now)
    elif row.status == ExecutionStatus.RUNNING:
        row.cancel_requested = True
    session.flush()
    return execution_record(row)


def recover(
    session: Session, worker_ids: Collection[str] | None, now: datetime.datetime
) -> tuple[int, int, int]:
    """Mark ``running`` executions (of ``worker_ids``, or all) ``crashed`` and their running
    steps ``interrupted``. Returns ``(crashed, interrupted_steps, still_queued)``."""
    stmt = select(ExecutionRow).where(ExecutionRow.status == ExecutionStatus.RUNNING.value)
    if worker_ids is not None:
        stmt = stmt.where(ExecutionRow.worker_id.in_(list(worker_ids)))
    rows = list(session.scalars(stmt.with_for_update()))
    for row in rows:
        _finish(row, ExecutionStatus.CRASHED, output=None, error=dict(CRASHED_ERROR), now=now)
    interrupted = interrupt_running_steps(session, [row.id for row in rows], now)
    session.flush()
    queued = session.scalar(
        select(func.count())
        .select_from(ExecutionRow)
        .where(ExecutionRow.status == ExecutionStatus.QUEUED.value)
    )
    return len(rows), interrupted, int(queued or 0)


def interrupt_running_steps(
    session: Session, execution_ids: list[str], now: datetime.datetime
) -> int:
    """Mark the ``running`` steps of these executions ``interrupted``, with their duration up
    to ``now`` when they have none. Returns how many steps changed."""
    now_ns = literal(to_ns(now), BigInteger)
    elapsed = case(
        (StepRow.started_at_ns < now_ns, now_ns - StepRow.started_at_ns),
        else_=literal(0, BigInteger),
    )
    changed = 0
    for ids in chunks(execution_ids):
        result = session.execute(
            update(StepRow)
            .where(StepRow.execution_id.in_(ids), StepRow.status == StepStatus.RUNNING.value)
            .values(
                status=StepStatus.INTERRUPTED.value,
                duration_ns=func.coalesce(StepRow.duration_ns, elapsed),
            )
            .execution_options(synchronize_session=False)
        )
        changed += _rowcount(result)
    return changed


def get_execution(session: Session, execution_id: str) -> ExecutionRecord | None:
    """The execution, or ``None``."""
    row = session.get(ExecutionRow, execution_id)
    return None if row is None else execution_record(row)


def list_executions(
    session: Session,
    *,
    namespace: str | None,
    name: str | None,
    status: str | None,
    trigger: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ExecutionRecord], str | None]:
    """One page of executions, newest first, and the cursor of the next page (``None`` on
    the last page). The cursor is opaque to callers (it is the last id of the page)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidDataError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit!r}")
    stmt = select(ExecutionRow)
    if namespace is not None:
        stmt = stmt.where(ExecutionRow.namespace == namespace)
    if name is not None:
        stmt = stmt.where(ExecutionRow.name == name)
    if status is not None:
        stmt = stmt.where(ExecutionRow.status == _enum(ExecutionStatus, "status", status).value)
    if trigger is not None:
        stmt = stmt.where(ExecutionRow.trigger == _enum(Trigger, "trigger", trigger).value)
    if cursor is not None:
        if not isinstance(cursor, str) or not _ID_PATTERN.fullmatch(cursor):
            raise InvalidDataError(f"invalid cursor {cursor!r}")
        stmt = stmt.where(ExecutionRow.id < cursor)
    rows = list(session.scalars(stmt.order_by(ExecutionRow.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return [execution_record(row) for row in rows[:limit]], next_cursor


def execution_status(session: Session, execution_id: str, *, lock: bool) -> ExecutionStatus:
    """The status of an execution (locking its row when ``lock``); raises NotFoundError."""
    stmt = select(ExecutionRow.status).where(ExecutionRow.id == execution_id)
    if lock:
        stmt = stmt.with_for_update()
    status = session.scalar(stmt)
    if status is None:
        raise NotFoundError("execution", execution_id)
    return ExecutionStatus(status)


def _locked(session: Session, execution_id: str) -> ExecutionRow:
    row = session.scalars(
        select(ExecutionRow).where(ExecutionRow.id == execution_id).with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("execution", execution_id)
    return row


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _enum(kind: type[_E], field: str, value: object) -> _E:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in kind)
    raise InvalidDataError(f"{field} must be one of {allowed}; got {value!r}")


def execution_record(row: ExecutionRow) -> ExecutionRecord:
    """The plain record of an execution row."""
    return ExecutionRecord(
        id=row.id,
        function_id=row.function_id,
        version_id=row.version_id,
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        trigger=Trigger(row.trigger),
        status=ExecutionStatus(row.status),
        input=row.input,
        output=row.output,
        error=row.error,
        versions=row.versions,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_ms=row.duration_ms,
        cancel_requested=row.cancel_requested,
        worker_id=row.worker_id,
        replay_of=row.replay_of,
    )
