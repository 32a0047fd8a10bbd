"""Webhooks with their deliveries, schedules with their fires: a repository of the
:class:`~runtree.store.Store`."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy.orm import Session

from ...models import (
    DeliveryRecord,
    ExecutionRecord,
    ScheduleFireRecord,
    ScheduleRecord,
    WebhookRecord,
)
from .. import triggers
from ..access import AuditEntry
from ..common import utcnow
from ..database import Database
from ..executions import queued_in_one_statement
from ..triggers import DeliveryData, RunSpec

# Concurrent deliveries with one idempotency key: the loser retries and finds the winner.
DELIVERY_ATTEMPTS = 3


class TriggerRepository:
    """Webhooks with their deliveries, schedules with their fires."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create_webhook(self, /, *, audit: AuditEntry | None = None, **fields: Any) -> WebhookRecord:
        """Store a webhook (``path`` unique: :class:`ConflictError` when taken)."""
        now = utcnow()
        return self._db.write(lambda s: triggers.create_webhook(s, audit=audit, now=now, **fields))

    def get_webhook(self, path: str) -> WebhookRecord | None:
        with self._db.reading() as session:
            return triggers.get_webhook(session, path)

    def list_webhooks(self, namespace: str | None = None) -> list[WebhookRecord]:
        with self._db.reading() as session:
            return triggers.list_webhooks(session, namespace)

    def delete_webhook(self, path: str, audit: AuditEntry | None = None) -> WebhookRecord:
        now = utcnow()
        return self._db.write(lambda s: triggers.delete_webhook(s, path, audit, now))

    def reject_delivery(
        self, webhook_id: int | None, data: DeliveryData, reason: str
    ) -> DeliveryRecord:
        now = utcnow()
        return self._db.write(lambda s: triggers.reject_delivery(s, webhook_id, data, reason, now))

    def accept_delivery(
        self,
        webhook_id: int,
        data: DeliveryData,
        idempotency_key: str | None,
        spec: RunSpec,
        window: datetime.timedelta,
    ) -> tuple[DeliveryRecord, ExecutionRecord, bool]:
        """Queue a delivery's execution, or find the first one of its idempotency key (see
        :func:`runtree.store.triggers.deliveries.accept_delivery`)."""
        now = utcnow()
        return self._db.write(
            lambda s: triggers.accept_delivery(
                s, webhook_id, data, idempotency_key, spec, window, now
            ),
            attempts=DELIVERY_ATTEMPTS,
        )

    def prune_idempotency_keys(self, before: datetime.datetime) -> int:
        return self._db.write(lambda s: triggers.prune_idempotency_keys(s, before))

    def get_delivery(self, delivery_id: str) -> DeliveryRecord | None:
        with self._db.reading() as session:
            return triggers.get_delivery(session, delivery_id)

    def delivery_of_execution(self, execution_id: str) -> DeliveryRecord | None:
        with self._db.reading() as session:
            return triggers.delivery_of_execution(session, execution_id)

    def list_deliveries(
        self,
        *,
        path: str | None = None,
        status: str | None = None,
        namespace: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[DeliveryRecord], str | None]:
        with self._db.reading() as session:
            return triggers.list_deliveries(
                session,
                path=path,
                status=status,
                namespace=namespace,
                limit=limit,
                cursor=cursor,
            )

    def enqueue_spec(self, spec: RunSpec, audit: AuditEntry | None = None) -> ExecutionRecord:
        """Queue ``spec`` (a replay ...), with its audit entry (its target followed by the
        execution's id) in the same transaction -- on PostgreSQL, for a plain run, in the
        same statement, without a transaction around it."""
        now = utcnow()

        def operation(session: Session) -> ExecutionRecord:
            return triggers.enqueue(session, spec, now, audit)

        if spec.replay_world is None and queued_in_one_statement(
            self._db.job_queue, replay_of=spec.replay_of, private_input=spec.private_input
        ):
            return self._db.one_statement(operation, writes=True)
        return self._db.write(operation)

    def create_schedule(
        self, /, *, audit: AuditEntry | None = None, **fields: Any
    ) -> ScheduleRecord:
        now = utcnow()
        return self._db.write(lambda s: triggers.create_schedule(s, audit=audit, now=now, **fields))

    def get_schedule(self, schedule_id: int) -> ScheduleRecord | None:
        with self._db.reading() as session:
            return triggers.get_schedule(session, schedule_id)

    def list_schedules(self, namespace: str | None = None) -> list[ScheduleRecord]:
        with self._db.reading() as session:
            return triggers.list_schedules(session, namespace)

    def set_schedule_paused(
        self,
        schedule_id: int,
        *,
        paused: bool,
        next_fire_at: datetime.datetime | None = None,
        audit: AuditEntry | None = None,
    ) -> ScheduleRecord:
        now = utcnow()
        return self._db.write(
            lambda s: triggers.set_schedule_paused(
                s, schedule_id, paused=paused, next_fire_at=next_fire_at, audit=audit, now=now
            )
        )

    def delete_schedule(self, schedule_id: int, audit: AuditEntry | None = None) -> ScheduleRecord:
        now = utcnow()
        return self._db.write(lambda s: triggers.delete_schedule(s, schedule_id, audit, now))

    def due_schedules(self, now: datetime.datetime) -> list[ScheduleRecord]:
        """Active schedules whose next fire time is at or before ``now``."""
        with self._db.reading() as session:
            return triggers.due_schedules(session, now)

    def fire_schedule(
        self,
        schedule_id: int,
        *,
        expected_next: datetime.datetime,
        fire_time: datetime.datetime,
        late: bool,
        missed: int,
        next_fire_at: datetime.datetime,
        spec: RunSpec | None,
        now: datetime.datetime | None = None,
    ) -> ExecutionRecord | None:
        """Run one fire time at most once (see
        :func:`runtree.store.triggers.schedules.fire_schedule`)."""
        moment = now or utcnow()
        return self._db.write(
            lambda s: triggers.fire_schedule(
                s,
                schedule_id,
                expected_next=expected_next,
                fire_time=fire_time,
                late=late,
                missed=missed,
                next_fire_at=next_fire_at,
                spec=spec,
                now=moment,
            )
        )

    def list_fires(self, schedule_id: int, limit: int = 50) -> list[ScheduleFireRecord]:
        """The fire times of a schedule that ran, newest first."""
        with self._db.reading() as session:
            return triggers.list_fires(session, schedule_id, limit)
