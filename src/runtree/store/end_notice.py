"""An execution's end as the finished channel announces it (PostgreSQL LISTEN/NOTIFY).

When an execution ends on PostgreSQL, the transaction that stores the end also sends a
``NOTIFY`` on :data:`~.jobs.FINISHED_CHANNEL` (delivered at commit, and only if it commits).
Its payload is the execution's id, then -- when it fits in PostgreSQL's 8,000-byte payload
limit -- a space and the end as JSON: what ending changed (status, output, error, times,
worker, the cancel flag). A server waiting for that execution completes the record it already
holds (from queueing it: everything else in a record is fixed when it is queued) instead of
reading the row back: a thread hop and a query per execution fewer on the API's path. An end
too large for a notice is announced by its id alone, and the waiting server reads it from
the store, as it does for a notice it cannot decode (one of another runtree version).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import TypeVar

from ..jsonlimits import shown
from ..models import ExecutionRecord, ExecutionStatus
from .common import dumps_json

# PostgreSQL refuses payloads of 8,000 bytes or more; the payload is ASCII (JSON with
# non-ASCII characters escaped), so characters are bytes.
MAX_PAYLOAD = 7_999
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class EndNotice:
    """An announced end, still as the JSON text it came in (decoded only by a server that
    waits for the execution: every server hears every end)."""

    text: str

    def complete(self, record: ExecutionRecord) -> ExecutionRecord | None:
        """``record`` (the same execution, as queued or seen since) with this end, exactly
        as the store would now read it back; ``None`` if the notice is not one this version
        understands (then read the store)."""
        try:
            end = json.loads(self.text)
            status = ExecutionStatus(end["status"])
            completed = dataclasses.replace(
                record,
                status=status,
                # As execution_record() shows what it reads (a document too deep for the
                # parser failed the decode above: RecursionError, read the store).
                output=shown(end["output"]),
                error=shown(end["error"]),
                started_at=_moment(end["started_at"]),
                finished_at=_moment(end["finished_at"]),
                duration_ms=_optional(end["duration_ms"], int),
                worker_id=_optional(end["worker_id"], str),
                cancel_requested=_typed(end["cancel_requested"], bool),
            )
        except (ValueError, TypeError, KeyError, RecursionError):
            return None
        return completed if status.finished else None


def notice_payload(record: ExecutionRecord) -> str:
    """The payload announcing that ``record`` (as just stored) ended: its id and its end, or
    its id alone when the end does not fit (see the module docstring)."""
    try:
        end = dumps_json(
            {
                "status": record.status.value,
                "output": record.output,
                "error": record.error,
                "started_at": _iso(record.started_at),
                "finished_at": _iso(record.finished_at),
                "duration_ms": record.duration_ms,
                "worker_id": record.worker_id,
                "cancel_requested": record.cancel_requested,
            }
        )
    except (TypeError, ValueError, RecursionError):  # not as stored; let the reader read it
        return record.id
    payload = f"{record.id} {end}"
    return payload if len(payload) <= MAX_PAYLOAD else record.id


def parse_notice(payload: str) -> tuple[str, EndNotice | None]:
    """``(execution_id, end)`` from a payload of the finished channel (``end`` is ``None``
    when only the id was announced). Does not decode the end (see :class:`EndNotice`)."""
    execution_id, _, end = payload.partition(" ")
    return execution_id, EndNotice(end) if end else None


def _optional(value: T | None, kind: type[T]) -> T | None:
    """``value`` if it is a ``kind`` or ``None`` (see :func:`_typed`)."""
    return None if value is None else _typed(value, kind)


def _typed(value: T, kind: type[T]) -> T:
    """``value`` if it is exactly a ``kind``, else :class:`ValueError`: a notice this version
    does not read (a record completed from it would not be the stored one)."""
    if type(value) is not kind:
        raise ValueError(f"{kind.__name__} expected in an end notice")
    return value


def _iso(moment: datetime.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(datetime.UTC).isoformat()


def _moment(text: str | None) -> datetime.datetime | None:
    if text is None:
        return None
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("naive time in an end notice")
    return moment.astimezone(datetime.UTC)
