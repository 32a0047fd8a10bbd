"""Shadow reports and their runs: a repository of the :class:`~runtree.store.Store`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...models import ExecutionRecord, ShadowReportRecord, VersionRecord
from .. import shadow
from ..access import AuditEntry
from ..common import utcnow
from ..database import Database
from ..triggers import RunSpec


class ShadowRepository:
    """Shadow reports: creating one with its queued runs, reading them back."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def recorded_runs(
        self,
        namespace: str,
        name: str,
        version: int,
        *,
        limit: int,
        skip: Callable[[ExecutionRecord], str | None] = lambda record: None,
        scan: int = 5000,
    ) -> tuple[list[ExecutionRecord], list[tuple[ExecutionRecord, str]]]:
        """Up to ``limit`` finished (succeeded or failed) normal runs of version ``version``
        of ``namespace/name``, newest first: as the entry point, or pinned by another
        function's run that can call it. ``skip`` gives the reason to leave a run out
        (``None``: take it); the runs left out on the way come back apart, with their
        reasons. Looks at most at the namespace's ``scan`` newest finished runs."""
        with self._db.reading() as session:
            taken: list[ExecutionRecord] = []
            skipped: list[tuple[ExecutionRecord, str]] = []
            for record in shadow.recorded_runs(session, namespace, name, version, scan=scan):
                reason = skip(record)
                if reason is not None:
                    skipped.append((record, reason))
                    continue
                taken.append(record)
                if len(taken) >= limit:
                    break
            return taken, skipped

    def create_shadow_report(
        self,
        *,
        version: VersionRecord,
        baseline_version: int,
        requested: int,
        skipped: Sequence[Mapping[str, Any]],
        runs: Sequence[RunSpec],
        created_by: str | None = None,
        audit: AuditEntry | None = None,
    ) -> tuple[ShadowReportRecord, list[ExecutionRecord]]:
        """A report for ``version`` and its queued runs (each ``RunSpec`` with trigger
        ``shadow``), with ``audit`` if given, in one transaction."""
        now = utcnow()
        return self._db.write(
            lambda session: shadow.create_report(
                session,
                version=version,
                baseline_version=baseline_version,
                requested=requested,
                skipped=skipped,
                runs=runs,
                created_by=created_by,
                audit=audit,
                now=now,
            )
        )

    def get_shadow_report(self, report_id: str) -> ShadowReportRecord | None:
        """The report with this id, or ``None``."""
        with self._db.reading() as session:
            return shadow.get_report(session, report_id)

    def list_shadow_reports(
        self, namespace: str, name: str, *, version: int | None = None, limit: int = 20
    ) -> list[ShadowReportRecord]:
        """A function's reports (of one shadowed version, if given), newest first."""
        with self._db.reading() as session:
            return shadow.list_reports(session, namespace, name, version=version, limit=limit)

    def shadow_runs(self, report_id: str) -> list[ExecutionRecord]:
        """The runs of a report, in the order they were queued."""
        with self._db.reading() as session:
            return shadow.report_runs(session, report_id)
