"""Deleting executions: every table that holds data of an execution, and the one function
that deletes executions with all of it, within a row budget per transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, tuple_, update
from sqlalchemy.orm import Session

from ..common import chunks, rowcount, table
from ..input_search import SEARCH_ROWS_TABLE
from ..schema import (
    DeliveryRow,
    ExecutionRow,
    IdempotencyKeyRow,
    PayloadRow,
    PrivateInputRow,
    ScheduleFireRow,
    StepRow,
    ValueHashRow,
    WorldRow,
)

_EXECUTIONS = table(ExecutionRow)
_STEPS = table(StepRow)
_WORLDS = table(WorldRow)


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionData:
    """One table holding data of executions: the rows whose ``column`` names a deleted
    execution are deleted, or -- ``detach`` -- kept with ``column`` set to NULL (rows with a
    life of their own: a webhook delivery, a schedule's fire, a replay of the execution).
    ``sqlite_only``: the table exists on SQLite only (skipped on PostgreSQL)."""

    table: Table
    column: str
    detach: bool = False
    sqlite_only: bool = False


# Every table that holds per-execution data, children before their parents. A table added
# with an ``execution_id`` column (or any reference to ``executions.id``) MUST be added here:
# tests/store/test_retention.py fails until it is (it inspects the migrated database).
EXECUTION_DATA: tuple[ExecutionData, ...] = (
    ExecutionData(table(PayloadRow), "execution_id"),
    ExecutionData(table(ValueHashRow), "execution_id"),
    ExecutionData(_STEPS, "execution_id"),
    ExecutionData(table(PrivateInputRow), "execution_id"),
    ExecutionData(table(IdempotencyKeyRow), "execution_id"),
    ExecutionData(_WORLDS, "execution_id"),
    ExecutionData(_WORLDS, "replay_source", detach=True),
    ExecutionData(table(DeliveryRow), "execution_id", detach=True),
    ExecutionData(table(ScheduleFireRow), "execution_id", detach=True),
    ExecutionData(_EXECUTIONS, "replay_of", detach=True),
    ExecutionData(SEARCH_ROWS_TABLE, "execution_id", sqlite_only=True),  # and its FTS document
)


@dataclasses.dataclass(frozen=True, slots=True)
class Deleted:
    """What one call of :func:`delete_execution_data` did: ``rows`` deleted or detached in
    the per-execution tables (``steps`` of them steps), ``executions`` deleted, and whether
    it is ``done`` (else call again with the same ids: the row budget ran out first)."""

    rows: int
    steps: int
    executions: int
    done: bool


def delete_execution_data(
    session: Session, execution_ids: Sequence[str], *, max_rows: int | None = None
) -> Deleted:
    """Delete the executions ``execution_ids`` and everything that belongs to them.

    This is the ONE function that deletes executions. Every table holding per-execution
    data (steps, payloads, private inputs, idempotency keys, recorded worlds, webhook-delivery
    links, schedule fires, replay links, ... -- :data:`EXECUTION_DATA`) must be covered by it:
    whoever adds such a table adds it there, children before parents.

    With ``max_rows``, at most that many rows of the per-execution tables are deleted or
    detached in this call (tables are emptied in order, so a parent row never goes before its
    children); the executions themselves go only once nothing else of them is left. Call it
    again, in a new transaction, until ``done``: that keeps each transaction short. No
    checks: the caller chose the ids (see :func:`.prunable.still_prunable`).
    """
    remaining = max_rows
    rows = steps = 0
    ids = list(execution_ids)
    sqlite = session.get_bind().dialect.name == "sqlite"
    for part in EXECUTION_DATA:
        if part.sqlite_only and not sqlite:
            continue
        column = part.table.c[part.column]
        for chunk in chunks(ids):
            condition: ColumnElement[bool] = column.in_(chunk)
            if remaining is not None:
                key = list(part.table.primary_key.columns)
                condition = tuple_(*key).in_(select(*key).where(condition).limit(remaining))
            if part.detach:
                statement: Any = update(part.table).where(condition).values({part.column: None})
            else:
                statement = delete(part.table).where(condition)
            count = rowcount(session.execute(statement))
            rows += count
            if part.table is _STEPS:
                steps += count
            if remaining is not None:
                remaining -= count
                if remaining <= 0:
                    return Deleted(rows=rows, steps=steps, executions=0, done=False)
    deleted = 0
    for chunk in chunks(ids):
        deleted += rowcount(session.execute(delete(_EXECUTIONS).where(_EXECUTIONS.c.id.in_(chunk))))
    return Deleted(rows=rows, steps=steps, executions=deleted, done=True)
