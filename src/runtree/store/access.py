"""API keys, the audit log and one-time server flags: plain functions over a session.

Audited changes write their audit entry in the same transaction as the change itself (see
:class:`AuditEntry`), so the log never misses a change nor records one that did not happen.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..errors import NotFoundError
from ..models import ApiKeyRecord, AuditRecord, Role
from .common import check_json, check_limit, table, upsert_insert
from .schema import ApiKeyRow, AuditRow, ServerFlagRow


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """What to write to the audit log along with a change (``at`` is the change's time)."""

    actor: str
    action: str
    target: str
    namespace: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def of_execution(self, execution_id: str) -> AuditEntry:
        """This entry about a new execution: its target followed by the execution's id."""
        return dataclasses.replace(self, target=f"{self.target} {execution_id}".strip())


def add_audit(session: Session, entry: AuditEntry, now: datetime.datetime) -> AuditRecord:
    check_json("details", entry.details)
    row = AuditRow(
        at=now,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        namespace=entry.namespace,
        details=dict(entry.details),
    )
    session.add(row)
    session.flush()
    return audit_record(row)


_INSERT_AUDIT = insert(table(AuditRow))


def append_audit(session: Session, entry: AuditEntry, now: datetime.datetime) -> None:
    """Write ``entry`` as :func:`add_audit` does, as one ``INSERT`` sent at once and without
    reading the row back: for a caller that does not need the record (queueing an
    execution, where the ORM object, its flush and the ``RETURNING`` of its id cost about
    a tenth of the API server's CPU)."""
    check_json("details", entry.details)
    session.execute(
        _INSERT_AUDIT,
        {
            "at": now,
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "namespace": entry.namespace,
            "details": dict(entry.details),
        },
    )


def list_audit(
    session: Session,
    *,
    namespace: str | None,
    action: str | None,
    limit: int,
    cursor: int | None,
) -> tuple[list[AuditRecord], int | None]:
    """A page of audit entries, newest first, and the cursor of the next page."""
    check_limit(limit)
    stmt = select(AuditRow)
    if namespace is not None:
        stmt = stmt.where(AuditRow.namespace == namespace)
    if action is not None:
        stmt = stmt.where(AuditRow.action == action)
    if cursor is not None:
        stmt = stmt.where(AuditRow.id < cursor)
    rows = list(session.scalars(stmt.order_by(AuditRow.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return [audit_record(row) for row in rows[:limit]], next_cursor


def create_api_key(
    session: Session,
    *,
    prefix: str,
    key_hash: str,
    name: str | None,
    role: Role,
    namespace: str | None,
    created_by: str | None,
    now: datetime.datetime,
) -> ApiKeyRecord:
    row = ApiKeyRow(
        prefix=prefix,
        key_hash=key_hash,
        name=name,
        role=Role(role).value,
        namespace=namespace,
        created_at=now,
        created_by=created_by,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return api_key_record(row)


def find_api_key(session: Session, key_hash: str) -> ApiKeyRecord | None:
    row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)).first()
    return None if row is None else api_key_record(row)


def get_api_key(session: Session, prefix: str) -> ApiKeyRecord | None:
    row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).first()
    return None if row is None else api_key_record(row)


def list_api_keys(session: Session, *, include_revoked: bool) -> list[ApiKeyRecord]:
    stmt = select(ApiKeyRow)
    if not include_revoked:
        stmt = stmt.where(ApiKeyRow.revoked_at.is_(None))
    return [api_key_record(row) for row in session.scalars(stmt.order_by(ApiKeyRow.id))]


def revoke_api_key(session: Session, prefix: str, now: datetime.datetime) -> ApiKeyRecord:
    """Revoke the key with this prefix (a revoked key stays revoked: revoking it again
    changes nothing)."""
    row = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.prefix == prefix).with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("key", prefix)
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return api_key_record(row)


def count_active_keys(session: Session, role: Role | None = None) -> int:
    stmt = select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None))
    if role is not None:
        stmt = stmt.where(ApiKeyRow.role == Role(role).value)
    return int(session.scalar(stmt) or 0)


def claim_flag(session: Session, name: str, value: str | None, now: datetime.datetime) -> bool:
    """Set the one-time flag ``name``; True for the one transaction that set it, False
    when it was set already (by this or any other process)."""
    stmt = (
        upsert_insert(session, table(ServerFlagRow))
        .values(name=name, value=value, created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(table(ServerFlagRow).c.name)
    )
    return session.execute(stmt).scalar() is not None


def api_key_record(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        role=Role(row.role),
        namespace=row.namespace,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


def audit_record(row: AuditRow) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target=row.target,
        namespace=row.namespace,
        details=dict(row.details or {}),
    )
