"""Shadow reports: a stored version replayed against recorded inputs before it goes live.

Plain functions over an open :class:`~sqlalchemy.orm.Session`. A report and its runs are
created in one transaction (the runs are ordinary queued executions with trigger ``shadow``
and the report's id), so a report never exists without the runs it planned.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidDataError
from ..models import ExecutionRecord, ExecutionStatus, ShadowReportRecord, Trigger, VersionRecord
from .access import AuditEntry, add_audit
from .common import check_json, check_limit
from .execution_rows import execution_record
from .ids import new_execution_id
from .schema import ExecutionRow, ShadowReportRow
from .triggers import RunSpec, enqueue

# Recorded runs a replay compares with: they ended with a result or an error of the code.
_REPLAYABLE = (ExecutionStatus.SUCCEEDED.value, ExecutionStatus.FAILED.value)
_SCAN_PAGE = 200


def recorded_runs(
    session: Session, namespace: str, name: str, version: int, *, scan: int
) -> Iterator[ExecutionRecord]:
    """Finished (succeeded or failed) normal runs that ran version ``version`` of
    ``namespace/name``, newest first: as the entry point, or pinned by a run of another
    function of the namespace that can call it (its ``versions``). At most ``scan`` of the
    namespace's newest finished runs are looked at."""
    cursor: str | None = None
    seen = 0
    while seen < scan:
        stmt = (
            select(ExecutionRow)
            .where(
                ExecutionRow.namespace == namespace,
                ExecutionRow.status.in_(_REPLAYABLE),
                ExecutionRow.shadow_report_id.is_(None),
            )
            .order_by(ExecutionRow.id.desc())
            .limit(min(_SCAN_PAGE, scan - seen))
        )
        if cursor is not None:
            stmt = stmt.where(ExecutionRow.id < cursor)
        rows = list(session.scalars(stmt))
        if not rows:
            return
        for row in rows:
            pinned = row.versions.get(name) if isinstance(row.versions, dict) else None
            if (row.name == name and row.version == version) or (
                row.name != name and pinned == version
            ):
                yield execution_record(row)
        seen += len(rows)
        cursor = rows[-1].id


def create_report(
    session: Session,
    *,
    version: VersionRecord,
    baseline_version: int,
    requested: int,
    skipped: Sequence[Mapping[str, Any]],
    runs: Sequence[RunSpec],
    created_by: str | None,
    audit: AuditEntry | None,
    now: datetime.datetime,
) -> tuple[ShadowReportRecord, list[ExecutionRecord]]:
    """Insert a report for ``version`` and queue its ``runs`` (trigger ``shadow``)."""
    skipped_doc = [dict(entry) for entry in skipped]
    check_json("skipped", skipped_doc)
    if any(spec.trigger is not Trigger.SHADOW for spec in runs):
        raise InvalidDataError("the runs of a shadow report must have trigger shadow")
    row = ShadowReportRow(
        id=new_execution_id(),
        function_id=version.function_id,
        namespace=version.namespace,
        name=version.name,
        version=version.number,
        baseline_version=baseline_version,
        requested=requested,
        skipped=skipped_doc,
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    queued = [
        enqueue(session, dataclasses.replace(spec, shadow_report_id=row.id), now) for spec in runs
    ]
    if audit is not None:
        add_audit(session, audit, now)
    return report_record(row), queued


def get_report(session: Session, report_id: str) -> ShadowReportRecord | None:
    row = session.get(ShadowReportRow, report_id)
    return None if row is None else report_record(row)


def list_reports(
    session: Session, namespace: str, name: str, *, version: int | None, limit: int
) -> list[ShadowReportRecord]:
    """A function's reports (of one shadowed ``version``, if given), newest first."""
    check_limit(limit)
    stmt = select(ShadowReportRow).where(
        ShadowReportRow.namespace == namespace, ShadowReportRow.name == name
    )
    if version is not None:
        stmt = stmt.where(ShadowReportRow.version == version)
    stmt = stmt.order_by(ShadowReportRow.id.desc()).limit(limit)
    return [report_record(row) for row in session.scalars(stmt)]


def report_runs(session: Session, report_id: str) -> list[ExecutionRecord]:
    """The shadow runs of a report, in the order they were queued."""
    stmt = (
        select(ExecutionRow)
        .where(ExecutionRow.shadow_report_id == report_id)
        .order_by(ExecutionRow.id)
    )
    return [execution_record(row) for row in session.scalars(stmt)]


def report_record(row: ShadowReportRow) -> ShadowReportRecord:
    return ShadowReportRecord(
        id=row.id,
        function_id=row.function_id,
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        baseline_version=row.baseline_version,
        requested=row.requested,
        skipped=list(row.skipped or []),
        created_at=row.created_at,
        created_by=row.created_by,
    )
