"""Retention policies, and pruning in short transactions: a repository of the
:class:`~runtree.store.Store` (the loop that drives it is :mod:`runtree.service.retention`)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ...models import RetentionKind, RetentionPolicyRecord
from .. import retention
from ..access import AuditEntry, add_audit
from ..common import utcnow
from ..database import Database
from ..engine import is_sqlite
from ..retention import Deleted, FileSpace, Usage
from ..schema import AuditRow, DeliveryRow


class RetentionRepository:
    """Retention policies; what they let go; deleting it; the database's space."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- policies -----------------------------------------------------------------------------

    def list_policies(self) -> list[RetentionPolicyRecord]:
        """Every retention policy (executions, then deliveries, then audit)."""
        with self._db.reading() as session:
            return retention.list_policies(session)

    def set_policy(
        self,
        *,
        kind: RetentionKind,
        namespace: str,
        function: str,
        keep_days: int | None,
        keep_last: int | None,
        audit: AuditEntry,
    ) -> RetentionPolicyRecord:
        """Create or replace one policy, and write ``audit`` in the same transaction. The
        arguments are not checked here (:mod:`runtree.service.retention` does)."""
        now = utcnow()

        def operation(session: Session) -> RetentionPolicyRecord:
            record = retention.set_policy(
                session,
                kind=kind,
                namespace=namespace,
                function=function,
                keep_days=keep_days,
                keep_last=keep_last,
                actor=audit.actor,
                now=now,
            )
            add_audit(session, audit, now)
            return record

        return self._db.write(operation, attempts=3)

    def delete_policy(
        self, *, kind: RetentionKind, namespace: str, function: str, audit: AuditEntry
    ) -> RetentionPolicyRecord:
        """Remove one policy (:class:`NotFoundError` when there is none), audited."""
        now = utcnow()

        def operation(session: Session) -> RetentionPolicyRecord:
            record = retention.delete_policy(
                session, kind=kind, namespace=namespace, function=function
            )
            add_audit(session, audit, now)
            return record

        return self._db.write(operation)

    # --- executions ---------------------------------------------------------------------------

    def functions_with_executions(self) -> list[tuple[str, str]]:
        """Every ``(namespace, name)`` that has executions."""
        with self._db.reading() as session:
            return retention.functions_with_executions(session)

    def prunable_usage(
        self,
        namespace: str,
        name: str,
        *,
        keep_days: int | None,
        keep_last: int | None,
        now: datetime.datetime,
    ) -> Usage:
        """What ``namespace/name``'s executions that these limits let go hold (see
        :func:`runtree.store.retention.prunable_query`)."""
        query = retention.prunable_query(
            namespace, name, keep_days=keep_days, keep_last=keep_last, now=now
        )
        if query is None:
            return Usage(0, 0, 0)
        with self._db.reading() as session:
            return retention.usage_of(session, query)

    def next_prunable(
        self,
        namespace: str,
        name: str,
        *,
        keep_days: int | None,
        keep_last: int | None,
        now: datetime.datetime,
        limit: int,
    ) -> list[str]:
        """The ids of up to ``limit`` of those executions, oldest first."""
        query = retention.prunable_query(
            namespace, name, keep_days=keep_days, keep_last=keep_last, now=now
        )
        if query is None:
            return []
        with self._db.reading() as session:
            return list(session.scalars(query.order_by(text("id")).limit(limit)))

    def delete_executions(self, execution_ids: Sequence[str], *, max_rows: int | None) -> Deleted:
        """One short write transaction: those of ``execution_ids`` that are still finished
        and named by no pending replay lose at most ``max_rows`` rows of their data
        (:func:`runtree.store.retention.delete_execution_data`); call again until ``done``."""

        def operation(session: Session) -> Deleted:
            ids = retention.still_prunable(session, execution_ids)
            if not ids:
                return Deleted(rows=0, steps=0, executions=0, done=True)
            return retention.delete_execution_data(session, ids, max_rows=max_rows)

        return self._db.write(operation)

    # --- deliveries and audit entries ---------------------------------------------------------

    def old_deliveries(self, before: datetime.datetime) -> tuple[int, int]:
        """How many webhook deliveries were received before ``before`` (those whose
        execution is pending excepted), and their bodies' bytes."""
        with self._db.reading() as session:
            return retention.count_and_bytes(
                session, retention.old_deliveries(before), DeliveryRow.body
            )

    def delete_old_deliveries(self, before: datetime.datetime, *, limit: int) -> int:
        """Delete at most ``limit`` of them (oldest first), in one short transaction."""
        return self._db.write(
            lambda s: retention.delete_some(
                s, retention.old_deliveries(before), retention.DELIVERIES_TABLE, limit
            )
        )

    def old_audit_entries(self, before: datetime.datetime) -> int:
        """How many audit entries were written before ``before``."""
        with self._db.reading() as session:
            return retention.count_and_bytes(session, retention.old_audit_entries(before))[0]

    def delete_old_audit_entries(self, before: datetime.datetime, *, limit: int) -> int:
        """Delete at most ``limit`` of them (oldest first), in one short transaction."""
        return self._db.write(
            lambda s: retention.delete_some(
                s, retention.old_audit_entries(before), retention.AUDIT_TABLE, limit
            )
        )

    # --- storage ------------------------------------------------------------------------------

    def usage_by_function(self) -> dict[tuple[str, str], Usage]:
        """Executions, steps and payload bytes per ``(namespace, name)``."""
        with self._db.reading() as session:
            return retention.usage_by_function(session)

    def delivery_totals(self) -> tuple[int, int]:
        """Every webhook delivery: how many, and their bodies' bytes."""
        with self._db.reading() as session:
            count = session.scalar(select(func.count()).select_from(DeliveryRow)) or 0
            size = session.scalar(select(func.coalesce(func.sum(func.length(DeliveryRow.body)), 0)))
            return int(count), int(size or 0)

    def audit_total(self) -> int:
        """How many audit entries there are."""
        with self._db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(AuditRow)) or 0)

    def database_bytes(self) -> int:
        """The database's size on disk (SQLite: the file; PostgreSQL: the database)."""
        with self._db.reading() as session:
            if is_sqlite(self._db.engine):
                return retention.file_space(session).size_bytes
            return int(session.scalar(text("SELECT pg_database_size(current_database())")) or 0)

    def file_space(self) -> FileSpace | None:
        """SQLite: the file's size, free bytes and ``auto_vacuum`` mode; ``None`` elsewhere."""
        if not is_sqlite(self._db.engine):
            return None
        with self._db.reading() as session:
            return retention.file_space(session)

    def incremental_vacuum(self, pages: int) -> int:
        """SQLite with ``auto_vacuum = incremental``: give up to ``pages`` free pages back to
        the file system in one short transaction; returns how many. Elsewhere 0."""
        if not is_sqlite(self._db.engine):
            return 0
        raw = self._db.engine.raw_connection()
        try:
            return retention.incremental_vacuum(raw.driver_connection, pages)
        finally:
            raw.close()

    def vacuum(self) -> None:
        """SQLite: rebuild the file (``VACUUM``) with ``auto_vacuum = incremental``, which
        is the only way to switch a database created without it; every free page goes back
        to the file system. It holds the write lock for as long as it takes, and needs free
        disk space about the size of the database. PostgreSQL: nothing (autovacuum)."""
        if not is_sqlite(self._db.engine):
            return
        raw = self._db.engine.raw_connection()
        try:
            connection = raw.driver_connection
            assert connection is not None
            connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
            connection.execute("VACUUM")
        finally:
            raw.close()
