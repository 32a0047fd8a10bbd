"""What executions got from the outside world (the ``execution_worlds`` table).

A recording is stored as zlib-compressed JSON (it is read whole, only to replay it or to
show its summary); its compressed size is the row's ``size_bytes``. Deleting an execution
deletes its row (foreign key, ``ON DELETE CASCADE``).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..errors import InvalidDataError
from ..models import WorldRecord
from .common import check_json, table, upsert_insert
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
    :func:`plan_replay`). Raises :class:`InvalidDataError` for anything but JSON, and for a
    report of a run that is no replay; nothing is written then (both are checked before
    any statement is sent)."""
    data = None
    if recording is not None:
        check_json("recording", recording)
        data = zlib.compress(json.dumps(recording, separators=(",", ":")).encode(), 6)
    if report is not None:
        check_json("report", report)
        row = session.get(WorldRow, execution_id)
        if row is None:
            raise InvalidDataError(f"execution {execution_id} is not a deterministic replay")
        row.report = report
        if data is not None:
            row.recording, row.size_bytes = data, len(data)
        return
    if data is not None:
        # One statement, no ORM object: the recording of every run is stored with its end,
        # on the hot path (a replay's planned row keeps its mode and source).
        session.execute(
            _recording_upsert(session),
            {"execution_id": execution_id, "mode": RECORD, "recording": data, "size": len(data)},
        )


# The recording upsert of each dialect, built once.
_UPSERTS: dict[str, Any] = {}


def _recording_upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    upsert = _UPSERTS.get(dialect)
    if upsert is None:
        insert_ = upsert_insert(session, table(WorldRow)).values(
            execution_id=bindparam("execution_id"),
            mode=bindparam("mode"),
            recording=bindparam("recording"),
            size_bytes=bindparam("size"),
        )
        upsert = _UPSERTS[dialect] = insert_.on_conflict_do_update(
            index_elements=["execution_id"],
            set_={
                "recording": insert_.excluded.recording,
                "size_bytes": insert_.excluded.size_bytes,
            },
        )
    return upsert


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
