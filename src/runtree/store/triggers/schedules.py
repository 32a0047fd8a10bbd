"""Schedules and their fires: a schedule's input with secrets is stored sealed
(:mod:`..sealed`) for its fires, and each fire time runs at most once however many
processes race for it."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...errors import NotFoundError
from ...models import ExecutionRecord, ScheduleFireRecord, ScheduleRecord
from ..access import AuditEntry, add_audit
from ..common import check_json, check_limit, table, upsert_insert
from ..schema import ScheduleFireRow, ScheduleRow
from ..sealed import open_json, seal_json
from .runs import RunSpec, enqueue

# The sealed column (the column name is the associated data of each sealed value).
SCHEDULE_INPUT_FIELD = "schedules.sealed_input"


def create_schedule(
    session: Session,
    *,
    namespace: str,
    name: str,
    version: int | None,
    cron: str,
    timezone: str,
    input: dict[str, Any],
    next_fire_at: datetime.datetime,
    created_by: str | None,
    audit: AuditEntry | None,
    now: datetime.datetime,
    private_input: dict[str, Any] | None = None,
) -> ScheduleRecord:
    """Store a schedule: ``input`` is what everyone reads (secrets redacted);
    ``private_input``, the input with its secrets, is kept sealed for its fires."""
    check_json("input", input)
    sealed = None
    if private_input is not None:
        check_json("private_input", private_input)
        sealed = seal_json(session, SCHEDULE_INPUT_FIELD, private_input)
    row = ScheduleRow(
        namespace=namespace,
        name=name,
        version=version,
        cron=cron,
        timezone=timezone,
        input=input,
        sealed_input=sealed,
        paused=False,
        next_fire_at=next_fire_at,
        last_fire_at=None,
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    if audit is not None:
        target = audit.target.replace("{id}", str(row.id))
        add_audit(session, dataclasses.replace(audit, target=target), now)
    return schedule_record(row)


def get_schedule(session: Session, schedule_id: int) -> ScheduleRecord | None:
    row = session.get(ScheduleRow, schedule_id)
    return None if row is None else schedule_record(row)


def list_schedules(session: Session, namespace: str | None) -> list[ScheduleRecord]:
    stmt = select(ScheduleRow)
    if namespace is not None:
        stmt = stmt.where(ScheduleRow.namespace == namespace)
    return [schedule_record(row) for row in session.scalars(stmt.order_by(ScheduleRow.id))]


def set_schedule_paused(
    session: Session,
    schedule_id: int,
    *,
    paused: bool,
    next_fire_at: datetime.datetime | None,
    audit: AuditEntry | None,
    now: datetime.datetime,
) -> ScheduleRecord:
    """Pause or resume; resuming sets ``next_fire_at`` (the times missed while paused are
    skipped, not caught up)."""
    row = _locked_schedule(session, schedule_id)
    if row.paused != paused:
        row.paused = paused
        if not paused and next_fire_at is not None:
            row.next_fire_at = next_fire_at
        session.flush()
        if audit is not None:
            add_audit(session, audit, now)
    return schedule_record(row)


def delete_schedule(
    session: Session, schedule_id: int, audit: AuditEntry | None, now: datetime.datetime
) -> ScheduleRecord:
    row = _locked_schedule(session, schedule_id)
    record = schedule_record(row)
    session.delete(row)
    session.flush()
    if audit is not None:
        add_audit(session, audit, now)
    return record


def due_schedules(session: Session, now: datetime.datetime) -> list[ScheduleRecord]:
    stmt = (
        select(ScheduleRow)
        .where(ScheduleRow.paused.is_(False), ScheduleRow.next_fire_at <= now)
        .order_by(ScheduleRow.next_fire_at, ScheduleRow.id)
    )
    return [schedule_record(row) for row in session.scalars(stmt)]


def fire_schedule(
    session: Session,
    schedule_id: int,
    *,
    expected_next: datetime.datetime,
    fire_time: datetime.datetime,
    late: bool,
    missed: int,
    next_fire_at: datetime.datetime,
    spec: RunSpec | None,
    now: datetime.datetime,
) -> ExecutionRecord | None:
    """Run ``fire_time`` of the schedule: record it, queue the execution (``spec``; ``None``
    records the fire without an execution, when the function is gone) and move
    ``next_fire_at`` on; a schedule with secrets in its input gives the execution its
    sealed input as the private input. Returns the execution, or ``None`` when this fire
    time was already taken (by another process) or the schedule changed meanwhile (paused,
    deleted, already moved on): then nothing is written.

    At most once: the row ``(schedule_id, fire_time)`` is inserted with ``ON CONFLICT DO
    NOTHING`` under the table's unique constraint, and only the transaction that inserted it
    queues an execution."""
    row = session.scalars(
        select(ScheduleRow).where(ScheduleRow.id == schedule_id).with_for_update()
    ).first()
    if row is None or row.paused or row.next_fire_at != expected_next:
        return None
    inserted = session.execute(
        upsert_insert(session, table(ScheduleFireRow))
        .values(
            schedule_id=schedule_id,
            fire_time=fire_time,
            execution_id=None,
            fired_at=now,
            late=late,
            missed=missed,
        )
        .on_conflict_do_nothing(index_elements=["schedule_id", "fire_time"])
        .returning(table(ScheduleFireRow).c.id)
    ).scalar()
    row.next_fire_at = max(row.next_fire_at, next_fire_at)
    if inserted is None:  # the fire time was taken: another process ran it
        session.flush()
        return None
    row.last_fire_at = fire_time
    if spec is not None and row.sealed_input is not None:  # its secrets, for this run only
        private = open_json(session, SCHEDULE_INPUT_FIELD, row.sealed_input)
        spec = dataclasses.replace(spec, private_input=private)
    execution = None if spec is None else enqueue(session, spec, now)
    if execution is not None:
        session.execute(
            update(ScheduleFireRow)
            .where(
                ScheduleFireRow.schedule_id == schedule_id,
                ScheduleFireRow.fire_time == fire_time,
            )
            .values(execution_id=execution.id)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return execution


def list_fires(session: Session, schedule_id: int, limit: int) -> list[ScheduleFireRecord]:
    check_limit(limit)
    stmt = (
        select(ScheduleFireRow)
        .where(ScheduleFireRow.schedule_id == schedule_id)
        .order_by(ScheduleFireRow.fire_time.desc())
        .limit(limit)
    )
    return [fire_record(row) for row in session.scalars(stmt)]


def _locked_schedule(session: Session, schedule_id: int) -> ScheduleRow:
    row = session.scalars(
        select(ScheduleRow).where(ScheduleRow.id == schedule_id).with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("schedule", str(schedule_id))
    return row


def schedule_record(row: ScheduleRow) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        cron=row.cron,
        timezone=row.timezone,
        input=dict(row.input or {}),
        paused=row.paused,
        next_fire_at=row.next_fire_at,
        last_fire_at=row.last_fire_at,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def fire_record(row: ScheduleFireRow) -> ScheduleFireRecord:
    return ScheduleFireRecord(
        schedule_id=row.schedule_id,
        fire_time=row.fire_time,
        execution_id=row.execution_id,
        fired_at=row.fired_at,
        late=row.late,
        missed=row.missed,
    )
