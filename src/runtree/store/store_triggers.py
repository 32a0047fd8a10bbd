"""The :class:`~runtree.store.Store` methods for access control, the audit log, webhooks
and schedules (a mixin, so these tables live apart from the execution hot path)."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from ..models import (
    ApiKeyRecord,
    AuditRecord,
    DeliveryRecord,
    ExecutionRecord,
    Role,
    ScheduleFireRecord,
    ScheduleRecord,
    WebhookRecord,
)
from . import access, triggers
from .access import AuditEntry
from .common import utcnow
from .triggers import DeliveryData, RunSpec

T = TypeVar("T")

# Concurrent deliveries with one idempotency key: the loser retries and finds the winner.
DELIVERY_ATTEMPTS = 3


class AccessAndTriggersMixin:
    """API keys, audit log, webhooks with their deliveries, schedules with their fires."""

    if TYPE_CHECKING:

        def _reading(self) -> contextlib.AbstractContextManager[Session]: ...

        def _write(self, operation: Callable[[Session], T], *, attempts: int = 1) -> T: ...

    # --- audit ------------------------------------------------------------------------------

    def add_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append one entry to the audit log."""
        now = utcnow()
        return self._write(lambda s: access.add_audit(s, entry, now))

    def list_audit(
        self,
        *,
        namespace: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[list[AuditRecord], int | None]:
        """A page of the audit log, newest first, and the next page's cursor."""
        with self._reading() as session:
            return access.list_audit(
                session, namespace=namespace, action=action, limit=limit, cursor=cursor
            )

    # --- API keys ---------------------------------------------------------------------------

    def create_api_key(
        self,
        *,
        prefix: str,
        key_hash: str,
        name: str | None,
        role: Role,
        namespace: str | None,
        created_by: str | None,
        audit: AuditEntry | None = None,
    ) -> ApiKeyRecord:
        """Store a new key (its hash only), with its audit entry in the same transaction."""
        now = utcnow()

        def operation(session: Session) -> ApiKeyRecord:
            record = access.create_api_key(
                session,
                prefix=prefix,
                key_hash=key_hash,
                name=name,
                role=role,
                namespace=namespace,
                created_by=created_by,
                now=now,
            )
            if audit is not None:
                access.add_audit(session, audit, now)
            return record

        return self._write(operation)

    def bootstrap_admin_key(
        self, *, prefix: str, key_hash: str, name: str, created_by: str
    ) -> ApiKeyRecord | None:
        """Create the first admin key, once per database: only when this database never
        had one bootstrapped and has no active admin key. Concurrent first starts create
        one key between them (a flag row's primary key decides). ``None`` when nothing was
        created."""
        now = utcnow()

        def operation(session: Session) -> ApiKeyRecord | None:
            if not access.claim_flag(session, "admin-key-bootstrapped", prefix, now):
                return None
            if access.count_active_keys(session, Role.ADMIN):
                return None
            record = access.create_api_key(
                session,
                prefix=prefix,
                key_hash=key_hash,
                name=name,
                role=Role.ADMIN,
                namespace=None,
                created_by=created_by,
                now=now,
            )
            access.add_audit(
                session,
                AuditEntry(
                    actor=created_by,
                    action="key.create",
                    target=f"key {prefix}",
                    details={"role": "admin", "name": name, "bootstrap": True},
                ),
                now,
            )
            return record

        return self._write(operation)

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this sha256 (revoked ones too: check ``active``)."""
        with self._reading() as session:
            return access.find_api_key(session, key_hash)

    def get_api_key(self, prefix: str) -> ApiKeyRecord | None:
        with self._reading() as session:
            return access.get_api_key(session, prefix)

    def list_api_keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        with self._reading() as session:
            return access.list_api_keys(session, include_revoked=include_revoked)

    def revoke_api_key(self, prefix: str, audit: AuditEntry | None = None) -> ApiKeyRecord:
        now = utcnow()

        def operation(session: Session) -> ApiKeyRecord:
            record = access.revoke_api_key(session, prefix, now)
            if audit is not None and record.revoked_at == now:
                access.add_audit(session, audit, now)
            return record

        return self._write(operation)

    # --- webhooks ---------------------------------------------------------------------------

    def create_webhook(self, *, audit: AuditEntry | None = None, **fields: Any) -> WebhookRecord:
        """Store a webhook (``path`` unique: :class:`ConflictError` when taken)."""
        now = utcnow()
        return self._write(
            lambda s: triggers.create_webhook(s, audit=audit, now=now, **fields)
        )

    def get_webhook(self, path: str) -> WebhookRecord | None:
        with self._reading() as session:
            return triggers.get_webhook(session, path)

    def list_webhooks(self, namespace: str | None = None) -> list[WebhookRecord]:
        with self._reading() as session:
            return triggers.list_webhooks(session, namespace)

    def delete_webhook(self, path: str, audit: AuditEntry | None = None) -> WebhookRecord:
        now = utcnow()
        return self._write(lambda s: triggers.delete_webhook(s, path, audit, now))

    def reject_delivery(
        self, webhook_id: int | None, data: DeliveryData, reason: str
    ) -> DeliveryRecord:
        now = utcnow()
        return self._write(lambda s: triggers.reject_delivery(s, webhook_id, data, reason, now))

    def accept_delivery(
        self,
        webhook_id: int,
        data: DeliveryData,
        idempotency_key: str | None,
        spec: RunSpec,
        window: datetime.timedelta,
    ) -> tuple[DeliveryRecord, ExecutionRecord, bool]:
        """Queue a delivery's execution, or find the first one of its idempotency key (see
        :func:`runtree.store.triggers.accept_delivery`)."""
        now = utcnow()
        return self._write(
            lambda s: triggers.accept_delivery(
                s, webhook_id, data, idempotency_key, spec, window, now
            ),
            attempts=DELIVERY_ATTEMPTS,
        )

    def prune_idempotency_keys(self, before: datetime.datetime) -> int:
        return self._write(lambda s: triggers.prune_idempotency_keys(s, before))

    def get_delivery(self, delivery_id: str) -> DeliveryRecord | None:
        with self._reading() as session:
            return triggers.get_delivery(session, delivery_id)

    def delivery_of_execution(self, execution_id: str) -> DeliveryRecord | None:
        with self._reading() as session:
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
        with self._reading() as session:
            return triggers.list_deliveries(
                session, path=path, status=status, namespace=namespace, limit=limit,
                cursor=cursor,
            )

    def enqueue_spec(self, spec: RunSpec, audit: AuditEntry | None = None) -> ExecutionRecord:
        """Queue ``spec`` (a replay ...), with its audit entry in the same transaction."""
        now = utcnow()

        def operation(session: Session) -> ExecutionRecord:
            execution = triggers.enqueue(session, spec, now)
            if audit is not None:
                access.add_audit(
                    session,
                    AuditEntry(
                        actor=audit.actor,
                        action=audit.action,
                        target=f"{audit.target} {execution.id}".strip(),
                        namespace=audit.namespace,
                        details=audit.details,
                    ),
                    now,
                )
            return execution

        return self._write(operation)

    # --- schedules --------------------------------------------------------------------------

    def create_schedule(
        self, *, audit: AuditEntry | None = None, **fields: Any
    ) -> ScheduleRecord:
        now = utcnow()
        return self._write(
            lambda s: triggers.create_schedule(s, audit=audit, now=now, **fields)
        )

    def get_schedule(self, schedule_id: int) -> ScheduleRecord | None:
        with self._reading() as session:
            return triggers.get_schedule(session, schedule_id)

    def list_schedules(self, namespace: str | None = None) -> list[ScheduleRecord]:
        with self._reading() as session:
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
        return self._write(
            lambda s: triggers.set_schedule_paused(
                s, schedule_id, paused=paused, next_fire_at=next_fire_at, audit=audit, now=now
            )
        )

    def delete_schedule(self, schedule_id: int, audit: AuditEntry | None = None) -> ScheduleRecord:
        now = utcnow()
        return self._write(lambda s: triggers.delete_schedule(s, schedule_id, audit, now))

    def due_schedules(self, now: datetime.datetime) -> list[ScheduleRecord]:
        """Active schedules whose next fire time is at or before ``now``."""
        with self._reading() as session:
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
        """Run one fire time at most once (see :func:`runtree.store.triggers.fire_schedule`)."""
        moment = now or utcnow()
        return self._write(
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
        with self._reading() as session:
            return triggers.list_fires(session, schedule_id, limit)
