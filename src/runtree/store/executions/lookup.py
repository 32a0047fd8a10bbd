"""Reading executions -- one, many, the replays of one, a status -- and locking an
execution's row for the transaction that changes it (the other modules of this package lock
through here)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ...errors import NotFoundError
from ...models import ExecutionRecord, ExecutionStatus
from ..common import chunks, table
from ..execution_rows import execution_record
from ..schema import ExecutionRow

_EXECUTIONS = table(ExecutionRow)
# An execution's status: also how queueing a replay and claiming for a job tell an unknown id.
STATUS = select(_EXECUTIONS.c.status).where(_EXECUTIONS.c.id == bindparam("execution_id"))
_LOCKED_STATUS = STATUS.with_for_update()
_LOCKED_ROW = (
    select(ExecutionRow).where(ExecutionRow.id == bindparam("execution_id")).with_for_update()
)
_LOCKED_VALUES = (
    select(_EXECUTIONS).where(_EXECUTIONS.c.id == bindparam("execution_id")).with_for_update()
)


def get_execution(session: Session, execution_id: str) -> ExecutionRecord | None:
    """The execution, or ``None``."""
    row = session.get(ExecutionRow, execution_id)
    return None if row is None else execution_record(row)


def execution_status(session: Session, execution_id: str, *, lock: bool) -> ExecutionStatus:
    """The status of an execution (locking its row when ``lock``); raises NotFoundError."""
    status = session.scalar(_LOCKED_STATUS if lock else STATUS, {"execution_id": execution_id})
    if status is None:
        raise NotFoundError("execution", execution_id)
    return ExecutionStatus(status)


def locked_row(session: Session, execution_id: str) -> Any:
    """The execution's row as plain column values (a Core row), locked until the end of the
    transaction; raises :class:`NotFoundError`."""
    row = session.execute(_LOCKED_VALUES, {"execution_id": execution_id}).first()
    if row is None:
        raise NotFoundError("execution", execution_id)
    return row


def locked_entity(session: Session, execution_id: str) -> ExecutionRow:
    """The execution's ORM row, locked until the end of the transaction (for the changes
    made by setting attributes); raises :class:`NotFoundError`."""
    row = session.scalars(_LOCKED_ROW, {"execution_id": execution_id}).first()
    if row is None:
        raise NotFoundError("execution", execution_id)
    return row


def get_executions(session: Session, execution_ids: Collection[str]) -> dict[str, ExecutionRecord]:
    """The executions among ``execution_ids`` that exist, by id (one query per 500 ids)."""
    found: dict[str, ExecutionRecord] = {}
    for chunk in chunks(sorted(set(execution_ids))):
        for row in session.scalars(select(ExecutionRow).where(ExecutionRow.id.in_(chunk))):
            found[row.id] = execution_record(row)
    return found


def list_replays(session: Session, original: ExecutionRecord, limit: int) -> list[ExecutionRecord]:
    """Executions started as replays of ``original``, newest first (at most ``limit``);
    shadow runs are not replays a user started and are left out.

    Replays run the same function, so the query narrows by function first, where the
    executions table has an index."""
    stmt = (
        select(ExecutionRow)
        .where(
            ExecutionRow.namespace == original.namespace,
            ExecutionRow.name == original.name,
            ExecutionRow.replay_of == original.id,
            ExecutionRow.shadow_report_id.is_(None),
        )
        .order_by(ExecutionRow.id.desc())
        .limit(limit)
    )
    return [execution_record(row) for row in session.scalars(stmt)]
