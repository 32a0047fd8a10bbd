"""A webhook's deliveries: every request received is recorded (rejected, accepted or a
duplicate), and an accepted one queues its execution -- at most once per idempotency key
within its window."""

from __future__ import annotations

import dataclasses
import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...models import DeliveryRecord, ExecutionRecord
from ..common import check_json, check_limit, rowcount
from ..execution_rows import execution_record
from ..ids import new_execution_id
from ..schema import DeliveryRow, ExecutionRow, IdempotencyKeyRow, WebhookRow
from .runs import RunSpec, enqueue


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
    return rowcount(result)


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
