"""Retention in the store: policies, what they select, and deleting it in short transactions.

Plain functions over a session. Selection never picks an execution that is ``queued`` or
``running``, nor one that a pending (queued or running) replay names in ``replay_of``; it is
checked again in the transaction that deletes, so an execution that became such meanwhile
is skipped.

:func:`delete_execution_data` is the one place that knows every table holding data of an
execution (:data:`EXECUTION_DATA`): pruning, and anything else that deletes executions, goes
through it.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    delete,
    func,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from ..errors import NotFoundError
from ..models import (
    EVERY_NAMESPACE,
    FINISHED_STATUSES,
    ExecutionStatus,
    RetentionKind,
    RetentionPolicyRecord,
)
from .common import chunks, table, upsert_insert
from .inline_sizes import inline_blob_bytes
from .input_search import SEARCH_ROWS_TABLE
from .schema import (
    AuditRow,
    DeliveryRow,
    ExecutionRow,
    IdempotencyKeyRow,
    PayloadRow,
    PrivateInputRow,
    RetentionPolicyRow,
    ScheduleFireRow,
    StepRow,
    ValueHashRow,
    WorldRow,
)

_EXECUTIONS = table(ExecutionRow)
_STEPS = table(StepRow)
_WORLDS = table(WorldRow)
_FINISHED = sorted(str(status) for status in FINISHED_STATUSES)
_PENDING = (ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value)


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
    checks: the caller chose the ids (see :func:`still_prunable`).
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
            count = _rowcount(session.execute(statement))
            rows += count
            if part.table is _STEPS:
                steps += count
            if remaining is not None:
                remaining -= count
                if remaining <= 0:
                    return Deleted(rows=rows, steps=steps, executions=0, done=False)
    deleted = 0
    for chunk in chunks(ids):
        deleted += _rowcount(
            session.execute(delete(_EXECUTIONS).where(_EXECUTIONS.c.id.in_(chunk)))
        )
    return Deleted(rows=rows, steps=steps, executions=deleted, done=True)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# --- policies ---------------------------------------------------------------------------------


def list_policies(session: Session) -> list[RetentionPolicyRecord]:
    """Every policy: executions (every namespace first, then by namespace and function),
    then deliveries, then audit."""
    rows = session.scalars(select(RetentionPolicyRow))
    order = {kind: index for index, kind in enumerate(RetentionKind)}
    records = [_record(row) for row in rows]
    return sorted(
        records,
        key=lambda r: (order[r.kind], r.namespace != EVERY_NAMESPACE, r.namespace, r.function),
    )


def set_policy(
    session: Session,
    *,
    kind: RetentionKind,
    namespace: str,
    function: str,
    keep_days: int | None,
    keep_last: int | None,
    actor: str | None,
    now: datetime.datetime,
) -> RetentionPolicyRecord:
    """Create or replace the policy of ``(kind, namespace, function)``."""
    values = {
        "kind": kind.value,
        "namespace": namespace,
        "function": function,
        "keep_days": keep_days,
        "keep_last": keep_last,
        "updated_at": now,
        "updated_by": actor,
    }
    insert = upsert_insert(session, table(RetentionPolicyRow)).values(values)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["kind", "namespace", "function"],
            set_={k: values[k] for k in ("keep_days", "keep_last", "updated_at", "updated_by")},
        )
    )
    row = session.scalars(_policy_query(kind, namespace, function)).one()
    return _record(row)


def delete_policy(
    session: Session, *, kind: RetentionKind, namespace: str, function: str
) -> RetentionPolicyRecord:
    """Remove a policy; :class:`NotFoundError` when there is none."""
    row = session.scalars(_policy_query(kind, namespace, function)).one_or_none()
    if row is None:
        target = f"{namespace}/{function}" if function else namespace
        raise NotFoundError(
            "retention policy", target if kind is RetentionKind.EXECUTIONS else kind.value
        )
    record = _record(row)
    session.delete(row)
    return record


def _policy_query(kind: RetentionKind, namespace: str, function: str) -> Select[Any]:
    return select(RetentionPolicyRow).where(
        RetentionPolicyRow.kind == kind.value,
        RetentionPolicyRow.namespace == namespace,
        RetentionPolicyRow.function == function,
    )


def _record(row: RetentionPolicyRow) -> RetentionPolicyRecord:
    return RetentionPolicyRecord(
        kind=RetentionKind(row.kind),
        namespace=row.namespace,
        function=row.function,
        keep_days=row.keep_days,
        keep_last=row.keep_last,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


# --- selecting what a policy lets go ----------------------------------------------------------


def id_floor(moment: datetime.datetime) -> str:
    """The smallest execution id created at ``moment`` or later: ids are UUIDv7, their first
    48 bits the creation time in milliseconds (:mod:`.ids`), so "queued before ``moment``"
    is ``id < id_floor(moment)`` -- a range of the primary key."""
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    millis = max(0, (moment - epoch) // datetime.timedelta(milliseconds=1))
    return f"{millis & ((1 << 48) - 1):012x}" + "0" * 20


def functions_with_executions(session: Session) -> list[tuple[str, str]]:
    """Every ``(namespace, name)`` that has executions (one index scan)."""
    e = _EXECUTIONS
    return [
        (str(ns), str(name))
        for ns, name in session.execute(
            select(e.c.namespace, e.c.name).distinct().order_by(e.c.namespace, e.c.name)
        )
    ]


def _pending_replays() -> CompoundSelect[Any]:
    """The ids of executions a queued or running replay needs: the one it replays
    (``replay_of``) and, for a deterministic replay, the one whose recording it uses."""
    e, w = _EXECUTIONS, _WORLDS
    replayed = select(e.c.replay_of).where(e.c.status.in_(_PENDING), e.c.replay_of.is_not(None))
    recordings = (
        select(w.c.replay_source)
        .join(e, e.c.id == w.c.execution_id)
        .where(e.c.status.in_(_PENDING), w.c.replay_source.is_not(None))
    )
    return replayed.union(recordings)


def prunable_query(
    namespace: str,
    name: str,
    *,
    keep_days: int | None,
    keep_last: int | None,
    now: datetime.datetime,
) -> Select[Any] | None:
    """The ids of ``namespace/name``'s executions that a policy of these limits lets go:
    finished, not named by a pending replay, and queued more than ``keep_days`` ago or not
    among the newest ``keep_last`` (either limit). ``None`` when neither limit is set."""
    e = _EXECUTIONS
    limits: list[ColumnElement[bool]] = []
    if keep_days is not None:
        limits.append(e.c.id < id_floor(now - datetime.timedelta(days=keep_days)))
    if keep_last is not None:
        # "The newest N runs" are runs of the function: shadow runs (runtree deploy --shadow)
        # do not take their places; those older than the Nth run go with the older runs.
        newest_kept = (
            select(e.c.id)
            .where(e.c.namespace == namespace, e.c.name == name, e.c.shadow_report_id.is_(None))
            .order_by(e.c.id.desc())
            .offset(keep_last - 1)
            .limit(1)
            .scalar_subquery()
        )
        limits.append(e.c.id < newest_kept)  # NULL (fewer runs than keep_last): none
    if not limits:
        return None
    return select(e.c.id).where(
        e.c.namespace == namespace,
        e.c.name == name,
        e.c.status.in_(_FINISHED),
        or_(*limits),
        e.c.id.not_in(_pending_replays()),
    )


def still_prunable(session: Session, execution_ids: Collection[str]) -> list[str]:
    """Those of ``execution_ids`` that still exist, are finished, and that no pending replay
    names (checked in the deleting transaction: things change between batches)."""
    e = _EXECUTIONS
    found: list[str] = []
    for chunk in chunks(sorted(execution_ids)):
        found.extend(
            session.scalars(
                select(e.c.id).where(
                    e.c.id.in_(chunk),
                    e.c.status.in_(_FINISHED),
                    e.c.id.not_in(_pending_replays()),
                )
            )
        )
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Rows and bytes: ``executions``, their ``steps`` and the serialized values of those
    steps (``payload_bytes``: the stored blobs, in ``step_payloads`` rows or inline in the
    step rows, and the executions' stored recordings of the
    outside world, see :mod:`.worlds`)."""

    executions: int
    steps: int
    payload_bytes: int


def usage_of(session: Session, ids: Select[Any]) -> Usage:
    """What the executions whose ids ``ids`` selects hold."""
    subquery = ids.scalar_subquery()
    executions = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    steps = session.scalar(
        select(func.count()).select_from(StepRow).where(StepRow.execution_id.in_(subquery))
    )
    payload = session.scalar(
        select(func.coalesce(func.sum(func.length(PayloadRow.blob)), 0)).where(
            PayloadRow.execution_id.in_(subquery)
        )
    )
    inline_from, inline_size = inline_blob_bytes(session)
    inline = session.scalar(
        select(func.coalesce(func.sum(inline_size), 0))
        .select_from(inline_from)
        .where(_STEPS.c.execution_id.in_(subquery))
    )
    recordings = session.scalar(
        select(func.coalesce(func.sum(WorldRow.size_bytes), 0)).where(
            WorldRow.execution_id.in_(subquery)
        )
    )
    total = int(payload or 0) + int(inline or 0) + int(recordings or 0)
    return Usage(int(executions), int(steps or 0), total)


def usage_by_function(session: Session) -> dict[tuple[str, str], Usage]:
    """Executions, steps and payload bytes of every function that has executions (four
    grouped scans: the cost grows with the database)."""
    e = _EXECUTIONS
    runs = dict(
        ((str(ns), str(name)), int(count))
        for ns, name, count in session.execute(
            select(e.c.namespace, e.c.name, func.count()).group_by(e.c.namespace, e.c.name)
        )
    )
    steps = dict(
        ((str(ns), str(name)), int(count))
        for ns, name, count in session.execute(
            select(e.c.namespace, e.c.name, func.count())
            .select_from(StepRow)
            .join(e, e.c.id == StepRow.execution_id)
            .group_by(e.c.namespace, e.c.name)
        )
    )
    payload = dict(
        ((str(ns), str(name)), int(total or 0))
        for ns, name, total in session.execute(
            select(e.c.namespace, e.c.name, func.sum(func.length(PayloadRow.blob)))
            .select_from(PayloadRow)
            .join(e, e.c.id == PayloadRow.execution_id)
            .group_by(e.c.namespace, e.c.name)
        )
    )
    inline_from, inline_size = inline_blob_bytes(session)
    for ns, name, total in session.execute(
        select(e.c.namespace, e.c.name, func.sum(inline_size))
        .select_from(inline_from.join(e, e.c.id == _STEPS.c.execution_id))
        .group_by(e.c.namespace, e.c.name)
    ):
        key = (str(ns), str(name))
        payload[key] = payload.get(key, 0) + int(total or 0)
    for ns, name, total in session.execute(
        select(e.c.namespace, e.c.name, func.sum(WorldRow.size_bytes))
        .select_from(WorldRow)
        .join(e, e.c.id == WorldRow.execution_id)
        .group_by(e.c.namespace, e.c.name)
    ):
        key = (str(ns), str(name))
        payload[key] = payload.get(key, 0) + int(total or 0)
    return {
        key: Usage(count, steps.get(key, 0), payload.get(key, 0)) for key, count in runs.items()
    }


# --- deliveries and audit entries -------------------------------------------------------------


def old_deliveries(before: datetime.datetime) -> Select[Any]:
    """Deliveries received before ``before``, except those whose execution is pending."""
    e = _EXECUTIONS
    pending = select(e.c.id).where(e.c.status.in_(_PENDING))
    return select(DeliveryRow.id).where(
        DeliveryRow.received_at < before,
        or_(DeliveryRow.execution_id.is_(None), DeliveryRow.execution_id.not_in(pending)),
    )


def old_audit_entries(before: datetime.datetime) -> Select[Any]:
    return select(AuditRow.id).where(AuditRow.at < before)


def count_and_bytes(session: Session, ids: Select[Any], size: Any = None) -> tuple[int, int]:
    """How many rows ``ids`` selects and, with ``size`` (a column of them), its total."""
    subquery = ids.subquery()
    count = session.scalar(select(func.count()).select_from(subquery)) or 0
    if size is None:
        return int(count), 0
    total = session.scalar(
        select(func.coalesce(func.sum(func.length(size)), 0)).where(
            size.table.c.id.in_(ids.scalar_subquery())
        )
    )
    return int(count), int(total or 0)


def delete_some(session: Session, ids: Select[Any], target: Table, limit: int) -> int:
    """Delete at most ``limit`` rows of ``target`` (deliveries, audit entries) whose ids
    ``ids`` selects."""
    chosen = list(session.scalars(ids.order_by(target.c.id).limit(limit)))
    deleted = 0
    for chunk in chunks(chosen):
        deleted += _rowcount(session.execute(delete(target).where(target.c.id.in_(chunk))))
    return deleted


DELIVERIES_TABLE = table(DeliveryRow)
AUDIT_TABLE = table(AuditRow)


# --- SQLite space -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class FileSpace:
    """A SQLite database file: its size, its free pages' bytes (reusable, not yet given back
    to the file system) and its ``auto_vacuum`` mode (``none``, ``full``, ``incremental``)."""

    size_bytes: int
    free_bytes: int
    auto_vacuum: str


_AUTO_VACUUM = {0: "none", 1: "full", 2: "incremental"}


def file_space(session: Session) -> FileSpace:
    page_size = int(session.execute(text("PRAGMA page_size")).scalar_one())
    pages = int(session.execute(text("PRAGMA page_count")).scalar_one())
    free = int(session.execute(text("PRAGMA freelist_count")).scalar_one())
    mode = int(session.execute(text("PRAGMA auto_vacuum")).scalar_one())
    return FileSpace(pages * page_size, free * page_size, _AUTO_VACUUM.get(mode, str(mode)))


def incremental_vacuum(connection: Any, pages: int) -> int:
    """Give up to ``pages`` free pages back to the file system, on a ``sqlite3`` connection
    outside any transaction (``auto_vacuum = incremental`` only; elsewhere nothing happens).
    Returns the pages freed. The statement is its own short write transaction."""
    if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        return 0
    before = int(connection.execute("PRAGMA freelist_count").fetchone()[0])
    # Each step of this statement frees one page; sqlite3's execute() steps once for a
    # statement without result columns, executescript() to the end.
    connection.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
    after = int(connection.execute("PRAGMA freelist_count").fetchone()[0])
    return max(before - after, 0)
