"""An execution's end: finishing it, cancelling it, crash recovery -- and with every end, its
steps still running interrupted and its private input forgotten."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, bindparam, case, delete, func, literal, select, update
from sqlalchemy.orm import Session

from ...errors import InvalidDataError
from ...models import FINISHED_STATUSES, ExecutionRecord, ExecutionStatus, StepStatus
from .. import jobs
from ..common import check_enum, check_json, chunks, millis_between, rowcount, table, to_ns
from ..execution_rows import execution_record
from ..schema import ExecutionRow, StepRow
from .lookup import locked_entity, locked_row
from .private_inputs import PRIVATE_INPUTS, forget_private_inputs

CANCELLED_ERROR = {"type": "Cancelled", "message": "cancelled before it started"}
CRASHED_ERROR = {
    "type": "Crashed",
    "message": "the runtree server stopped while this execution was running",
}

# The statuses of an execution that ended (a second end leaves it as it is).
FINISHED = [str(status) for status in FINISHED_STATUSES]

_EXECUTIONS = table(ExecutionRow)
_FINISH_VALUES: dict[str, Any] = {
    "status": bindparam("new_status"),
    "output": bindparam("new_output"),
    "error": bindparam("new_error"),
    "finished_at": bindparam("new_finished_at"),
    "duration_ms": bindparam("new_duration_ms"),
}
_FINISH = (
    update(_EXECUTIONS).where(_EXECUTIONS.c.id == bindparam("execution_id")).values(_FINISH_VALUES)
)
_STEPS = table(StepRow)
_NOW_NS = bindparam("now_ns", type_=BigInteger)
_INTERRUPT_VALUES = {
    "status": StepStatus.INTERRUPTED.value,
    "duration_ns": func.coalesce(
        _STEPS.c.duration_ns,
        case(
            (_STEPS.c.started_at_ns < _NOW_NS, _NOW_NS - _STEPS.c.started_at_ns),
            else_=literal(0, BigInteger),
        ),
    ),
}
_RUNNING_STEP = _STEPS.c.status == StepStatus.RUNNING.value
_INTERRUPT_ONE = (
    update(_STEPS)
    .where(_STEPS.c.execution_id == bindparam("of_execution"), _RUNNING_STEP)
    .values(_INTERRUPT_VALUES)
)
_INTERRUPT_MANY = (
    update(_STEPS)
    .where(_STEPS.c.execution_id.in_(bindparam("of_executions", expanding=True)), _RUNNING_STEP)
    .values(_INTERRUPT_VALUES)
)

# PostgreSQL with the job queue: an end in one statement -- the execution's row, its steps still
# running interrupted, its private input forgotten, its announcement (at commit) -- where four
# took four round trips. Parameters: of_execution, _FINISH's new_*, now_ns, channel, payload;
# none may be named like a column of these tables (an UPDATE sets the columns its execution
# parameters name: "execution_id" would move the steps).
_FINISH_ANNOUNCED = (
    update(_EXECUTIONS)
    .where(_EXECUTIONS.c.id == bindparam("of_execution"))
    .values(_FINISH_VALUES)
    .add_cte(
        _INTERRUPT_ONE.cte("interrupted"),
        delete(PRIVATE_INPUTS)
        .where(PRIVATE_INPUTS.c.execution_id == bindparam("of_execution"))
        .cte("forgotten"),
    )
    .returning(func.pg_notify(bindparam("channel"), bindparam("payload")))
)


def finish_execution(
    session: Session,
    execution_id: str,
    *,
    status: str,
    output: Any,
    error: Any,
    now: datetime.datetime,
    row: Any = None,
) -> ExecutionRecord:
    """Record the end of an execution unless it has already ended (then it is returned
    unchanged). Its steps still ``running`` become ``interrupted``. ``row``: the execution's
    row as :func:`.lookup.locked_row` returned it in this transaction (else it is locked
    here)."""
    status_value = check_enum(ExecutionStatus, "status", status)
    if not status_value.finished:
        raise InvalidDataError(f"status must be a finished status, got {status!r}")
    check_json("output", output)
    check_json("error", error)
    record = execution_record(locked_row(session, execution_id) if row is None else row)
    if record.status in FINISHED:
        return record
    started = record.started_at
    duration = None if started is None else millis_between(started, now)
    values = {
        "new_status": status_value.value,
        "new_output": output,
        "new_error": error,
        "new_finished_at": now,
        "new_duration_ms": duration,
    }
    ended = dataclasses.replace(
        record,
        status=status_value,
        output=output,
        error=error,
        finished_at=now,
        duration_ms=duration,
    )
    if jobs.defers_jobs(session):
        # Servers waiting for it hear it, and its end, at commit (jobs.announcement); with
        # its running steps interrupted and its private input forgotten, one statement.
        more = {"of_execution": execution_id, "now_ns": to_ns(now)}
        session.execute(_FINISH_ANNOUNCED, {**values, **more, **jobs.announcement(ended)})
        return ended
    session.execute(_FINISH, {"execution_id": execution_id, **values})
    interrupt_running_steps(session, [execution_id], now)
    forget_private_inputs(session, [execution_id])
    return ended


def _end_row(
    row: ExecutionRow,
    status: ExecutionStatus,
    *,
    output: Any,
    error: Any,
    now: datetime.datetime,
) -> None:
    """Set the end on a locked ORM row (written at the next flush)."""
    row.status = status.value
    row.output = output
    row.error = error
    row.finished_at = now
    row.duration_ms = None if row.started_at is None else millis_between(row.started_at, now)


def request_cancel(session: Session, execution_id: str, now: datetime.datetime) -> ExecutionRecord:
    """Cancel a queued execution at once; flag a running one (``cancel_requested``) for its
    worker to stop; leave a finished one as it is."""
    row = locked_entity(session, execution_id)
    if row.status == ExecutionStatus.QUEUED:
        row.cancel_requested = True
        _end_row(row, ExecutionStatus.CANCELLED, output=None, error=dict(CANCELLED_ERROR), now=now)
        forget_private_inputs(session, [row.id])
        if jobs.defers_jobs(session):
            jobs.cancel(session, execution_id, abort=False)
    elif row.status == ExecutionStatus.RUNNING:
        row.cancel_requested = True
        if jobs.defers_jobs(session):  # its worker, wherever it is, hears it at commit
            jobs.cancel(session, execution_id, abort=True)
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
        _end_row(row, ExecutionStatus.CRASHED, output=None, error=dict(CRASHED_ERROR), now=now)
    interrupted = interrupt_running_steps(session, [row.id for row in rows], now)
    forget_private_inputs(session, [row.id for row in rows])
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
    now_ns = to_ns(now)
    if len(execution_ids) == 1:
        result = session.execute(
            _INTERRUPT_ONE, {"of_execution": execution_ids[0], "now_ns": now_ns}
        )
        return rowcount(result)
    changed = 0
    for ids in chunks(execution_ids):
        result = session.execute(_INTERRUPT_MANY, {"of_executions": list(ids), "now_ns": now_ns})
        changed += rowcount(result)
    return changed
