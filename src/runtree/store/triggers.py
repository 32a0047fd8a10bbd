"""Webhooks (with their deliveries and idempotency keys) and schedules (with their fire
times): plain functions over a session.

Starting an execution from a trigger is one transaction: the execution is queued together
with what guarantees it starts once -- the idempotency key of a webhook delivery, the
``(schedule_id, fire_time)`` row of a schedule -- so two server processes racing for the
same delivery or fire time start one execution between them.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import ConflictError, NotFoundError
from ..models import (
    DeliveryRecord,
    ExecutionRecord,
    ScheduleFireRecord,
    ScheduleRecord,
    Trigger,
    VersionRecord,
    WebhookRecord,
)
from . import executions, worlds
from .access import AuditEntry, add_audit
from .common import check_json, check_limit, table, upsert_insert
from .execution_rows import execution_record
from .ids import new_execution_id
from .schema import (
    DeliveryRow,
    ExecutionRow,
    IdempotencyKeyRow,
    ScheduleFireRow,
    ScheduleRow,
    WebhookRow,
)
from .sealed import open_json, open_text, seal_json, seal_text

# The sealed columns (the column name is the associated data of each sealed value).
WEBHOOK_SECRET_FIELD = "webhooks.secret"
SCHEDULE_INPUT_FIELD = "schedules.sealed_input"


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryData:
    """A received request, as it is recorded."""

    path: str
    method: str
    query_string: str
    headers: list[list[str]]
    body: bytes
    body_size: int
    body_truncated: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class RunSpec:
    """What to queue: ``version`` with ``input``, calls resolved to ``versions``."""

    version: VersionRecord
    input: Any
    versions: Mapping[str, int]
    trigger: Trigger
    replay_of: str | None = None
    private_input: Any = None  # the unredacted input, when ``input`` had secrets redacted
    # A deterministic replay: the execution whose recording of the outside world it replays.
    replay_world: str | None = None
    shadow_report_id: str | None = None  # set for shadow runs (trigger ``shadow``) only


def enqueue(
    session: Session,
    spec: RunSpec,
    now: datetime.datetime,
    audit: AuditEntry | None = None,
) -> ExecutionRecord:
    """Queue ``spec`` (with ``audit``, its target followed by the execution's id: see
    :func:`.executions.enqueue_execution`)."""
    execution = executions.enqueue_execution(
        session,
        version=spec.version,
        trigger=str(spec.trigger),
        input=spec.input,
        versions=spec.versions,
        replay_of=spec.replay_of,
        now=now,
        private_input=spec.private_input,
        shadow_report_id=spec.shadow_report_id,
        audit=audit,
    )
    if spec.replay_world is not None:
        worlds.plan_replay(session, execution.id, spec.replay_world)
    return execution


# --- webhooks -------------------------------------------------------------------------------


def create_webhook(
    session: Session,
    *,
    path: str,
    namespace: str,
    name: str,
    version: int | None,
    verify: str,
    secret: str | None,
    mode: str,
    sync_timeout_s: float,
    created_by: str | None,
    audit: AuditEntry | None,
    now: datetime.datetime,
) -> WebhookRecord:
    if session.scalar(select(WebhookRow.id).where(WebhookRow.path == path)) is not None:
        raise ConflictError("webhook", path, f"webhook path already in use: {path}")
    row = WebhookRow(
        path=path,
        namespace=namespace,
        name=name,
        version=version,
        verify=verify,
        secret=None if secret is None else seal_text(session, WEBHOOK_SECRET_FIELD, secret),
        mode=mode,
        sync_timeout_s=sync_timeout_s,
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent create of the same path
        raise ConflictError("webhook", path, f"webhook path already in use: {path}") from None
    if audit is not None:
        add_audit(session, audit, now)
    return webhook_record(session, row)


def get_webhook(session: Session, path: str) -> WebhookRecord | None:
    row = session.scalars(select(WebhookRow).where(WebhookRow.path == path)).first()
    return None if row is None else webhook_record(session, row)


def list_webhooks(session: Session, namespace: str | None) -> list[WebhookRecord]:
    stmt = select(WebhookRow)
    if namespace is not None:
        stmt = stmt.where(WebhookRow.namespace == namespace)
    return [webhook_record(session, row) for row in session.scalars(stmt.order_by(WebhookRow.path))]


def delete_webhook(
    session: Session, path: str, audit: AuditEntry | None, now: datetime.datetime
) -> WebhookRecord:
    row = session.scalars(
        select(WebhookRow).where(WebhookRow.path == path).with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("webhook", path)
    record = webhook_record(session, row)
    session.delete(row)
    session.flush()
    if audit is not None:
        add_audit(session, audit, now)
    return record


def reject_delivery(
    session: Session,
    webhook_id: int | None,
    data: DeliveryData,
    reason: str,
    now: datetime.datetime,
) -> DeliveryRecord:
    """Record a refused request (nothing runs)."""
    row = _delivery_row(webhook_id, data, "rejected", reason, None, None, now)
    session.add(row)
    session.flush()
    return delivery_record(row)


def accept_delivery(
    session: Session,
    webhook_id: int,
    data: DeliveryData,
    idempotency_key: str | None,
    spec: RunSpec,
    window: datetime.timedelta,
    now: datetime.datetime,
) -> tuple[DeliveryRecord, ExecutionRecord, bool]:
    """Queue the delivery's execution, unless ``idempotency_key`` started one within
    ``window``: then record a ``duplicate`` delivery and return that first execution.
    Returns ``(delivery, execution, duplicate)``.

    Two concurrent deliveries with the same key both try to insert the key's row; the
    second fails on the primary key (PostgreSQL) or waits for the first (SQLite), and a
    retry of the whole transaction then finds the first execution."""
    if idempotency_key is not None:
        seen = session.scalars(
            select(IdempotencyKeyRow)
            .where(
                IdempotencyKeyRow.webhook_id == webhook_id,
                IdempotencyKeyRow.key == idempotency_key,
            )
            .with_for_update()
        ).first()
        if seen is not None:
            first = session.get(ExecutionRow, seen.execution_id)
            if seen.created_at > now - window and first is not None:
                row = _delivery_row(
                    webhook_id, data, "duplicate", None, idempotency_key, first.id, now
                )
                session.add(row)
                session.flush()
                return delivery_record(row), execution_record(first), True
            session.delete(seen)  # expired: the key may start a new execution
            session.flush()
    execution = enqueue(session, spec, now)
    if idempotency_key is not None:
        session.add(
            IdempotencyKeyRow(
                webhook_id=webhook_id,
                key=idempotency_key,
                execution_id=execution.id,
                created_at=now,
            )
        )
    row = _delivery_row(webhook_id, data, "accepted", None, idempotency_key, execution.id, now)
    session.add(row)
    session.flush()
    return delivery_record(row), execution, False


def prune_idempotency_keys(session: Session, before: datetime.datetime) -> int:
    result = session.execute(delete(IdempotencyKeyRow).where(IdempotencyKeyRow.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def _delivery_row(
    webhook_id: int | None,
    data: DeliveryData,
    status: str,
    reason: str | None,
    idempotency_key: str | None,
    execution_id: str | None,
    now: datetime.datetime,
) -> DeliveryRow:
    check_json("headers", data.headers)
    return DeliveryRow(
        id=new_execution_id(),
        webhook_id=webhook_id,
        path=data.path,
        received_at=now,
        method=data.method,
        query_string=data.query_string,
        headers=[list(pair) for pair in data.headers],
        body=bytes(data.body),
        body_size=data.body_size,
        body_truncated=data.body_truncated,
        status=status,
        reason=reason,
        idempotency_key=idempotency_key,
        execution_id=execution_id,
    )


def get_delivery(session: Session, delivery_id: str) -> DeliveryRecord | None:
    row = session.get(DeliveryRow, delivery_id)
    return None if row is None else delivery_record(row)


def delivery_of_execution(session: Session, execution_id: str) -> DeliveryRecord | None:
    """The delivery that started this execution (the accepted one, not its duplicates)."""
    row = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.execution_id == execution_id, DeliveryRow.status == "accepted")
        .limit(1)
    ).first()
    return None if row is None else delivery_record(row)


def list_deliveries(
    session: Session,
    *,
    path: str | None,
    status: str | None,
    namespace: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[DeliveryRecord], str | None]:
    """Deliveries, newest first (of the webhook at ``path``, with ``status``, of the webhooks
    of ``namespace``)."""
    check_limit(limit)
    stmt = select(DeliveryRow)
    if path is not None:
        stmt = stmt.where(DeliveryRow.path == path)
    if status is not None:
        stmt = stmt.where(DeliveryRow.status == status)
    if namespace is not None:
        stmt = stmt.join(WebhookRow, WebhookRow.id == DeliveryRow.webhook_id).where(
            WebhookRow.namespace == namespace
        )
    if cursor is not None:
        stmt = stmt.where(DeliveryRow.id < cursor)
    rows = list(session.scalars(stmt.order_by(DeliveryRow.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return [delivery_record(row) for row in rows[:limit]], next_cursor


# --- schedules ------------------------------------------------------------------------------


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


# --- records --------------------------------------------------------------------------------


def webhook_record(session: Session, row: WebhookRow) -> WebhookRecord:
    """The webhook, its secret opened (:mod:`.sealed`)."""
    return WebhookRecord(
        id=row.id,
        path=row.path,
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        verify=row.verify,
        secret=None if row.secret is None else open_text(session, WEBHOOK_SECRET_FIELD, row.secret),
        mode=row.mode,
        sync_timeout_s=row.sync_timeout_s,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def delivery_record(row: DeliveryRow) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        webhook_id=row.webhook_id,
        path=row.path,
        received_at=row.received_at,
        method=row.method,
        query_string=row.query_string,
        headers=[list(pair) for pair in row.headers],
        body=bytes(row.body),
        body_size=row.body_size,
        body_truncated=row.body_truncated,
        status=row.status,
        reason=row.reason,
        idempotency_key=row.idempotency_key,
        execution_id=row.execution_id,
    )


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
