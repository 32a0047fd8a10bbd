"""What executions got from the outside world (the ``execution_worlds`` table).

A recording is stored as zlib-compressed JSON (it is read whole, only to replay it or to
show its summary); its compressed size is the row's ``size_bytes``. Deleting an execution
deletes its row (foreign key, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidDataError
from ..models import WorldRecord
from .common import check_json
from .schema import WorldRow

RECORD = "record"
REPLAY = "replay"


def plan_replay(session: Session, execution_id: str, source_id: str) -> None:
    """Mark a queued execution as a deterministic replay of ``source_id``'s recording."""
    session.add(
        WorldRow(execution_id=execution_id, mode=REPLAY, replay_source=source_id, size_bytes=0)
    )


def save_world(
    session: Session,
    execution_id: str,
    *,
    recording: dict[str, Any] | None = None,
    report: dict[str, Any] | None = None,
) -> None:
    """Store a run's ``recording`` (record mode) or a replay's ``report`` (the row planned by
    :func:`plan_replay`). Raises :class:`InvalidDataError` for anything but JSON."""
    row = session.get(WorldRow, execution_id)
    if recording is not None:
        check_json("recording", recording)
        data = zlib.compress(json.dumps(recording, separators=(",", ":")).encode(), 6)
        if row is None:
            row = WorldRow(execution_id=execution_id, mode=RECORD, size_bytes=0)
            session.add(row)
        row.recording, row.size_bytes = data, len(data)
    if report is not None:
        check_json("report", report)
        if row is None:
            raise InvalidDataError(f"execution {execution_id} is not a deterministic replay")
        row.report = report


def get_world(session: Session, execution_id: str) -> WorldRecord | None:
    row = session.execute(
        select(WorldRow).where(WorldRow.execution_id == execution_id)
    ).scalar_one_or_none()
    if row is None:
        return None
    recording = None
    if row.recording is not None:
        recording = json.loads(zlib.decompress(row.recording))
    return WorldRecord(
        execution_id=row.execution_id,
        mode=row.mode,
        replay_source=row.replay_source,
        recording=recording,
        size_bytes=row.size_bytes,
        report=row.report,
    )
