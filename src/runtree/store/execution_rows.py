"""Execution rows to records: the one conversion, whichever reader fetched the row (the
store's SQLAlchemy sessions, or :mod:`.sqlite_reader`)."""

from __future__ import annotations

from typing import Any

from ..jsonlimits import shown
from ..models import ExecutionRecord, ExecutionStatus, Trigger


def execution_record(row: Any) -> ExecutionRecord:
    """The plain record of an execution row: an ``ExecutionRow``, a Core row of the
    executions table, or any object with the same attribute names holding the same Python
    values."""
    return ExecutionRecord(
        id=row.id,
        function_id=row.function_id,
        version_id=row.version_id,
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        trigger=Trigger(row.trigger),
        status=ExecutionStatus(row.status),
        # Rows stored before inputs were limited may nest too deeply for every reader.
        input=shown(row.input),
        output=shown(row.output),
        error=shown(row.error),
        versions=row.versions,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_ms=row.duration_ms,
        cancel_requested=row.cancel_requested,
        worker_id=row.worker_id,
        replay_of=row.replay_of,
        shadow_report_id=row.shadow_report_id,
    )
