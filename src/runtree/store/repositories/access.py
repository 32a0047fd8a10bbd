"""API keys and the audit log: a repository of the :class:`~runtree.store.Store`."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...errors import ConflictError
from ...models import (
    ApiKeyRecord,
    AuditRecord,
    Role,
)
from .. import access
from ..access import AuditEntry
from ..common import utcnow
from ..database import Database


class AccessRepository:
    """API keys and the audit log."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_audit(self, entry: AuditEntry) -> AuditRecord:
        """Append one entry to the audit log."""
        now = utcnow()
        return self._db.write(lambda s: access.add_audit(s, entry, now))

    def list_audit(
        self,
        *,
        namespace: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[list[AuditRecord], int | None]:
        """A page of the audit log, newest first, and the next page's cursor."""
        with self._db.reading() as session:
            return access.list_audit(
                session, namespace=namespace, action=action, limit=limit, cursor=cursor
            )

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

        try:
            return self._db.write(operation)
        except IntegrityError as error:  # the prefix is taken: the caller draws another key
            raise ConflictError("key", prefix) from error

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

        return self._db.write(operation)

    def find_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        """The key with this sha256 (revoked ones too: check ``active``)."""
        with self._db.reading() as session:
            return access.find_api_key(session, key_hash)

    def get_api_key(self, prefix: str) -> ApiKeyRecord | None:
        with self._db.reading() as session:
            return access.get_api_key(session, prefix)

    def list_api_keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        with self._db.reading() as session:
            return access.list_api_keys(session, include_revoked=include_revoked)

    def revoke_api_key(self, prefix: str, audit: AuditEntry | None = None) -> ApiKeyRecord:
        now = utcnow()

        def operation(session: Session) -> ApiKeyRecord:
            record = access.revoke_api_key(session, prefix, now)
            if audit is not None and record.revoked_at == now:
                access.add_audit(session, audit, now)
            return record

        return self._db.write(operation)
