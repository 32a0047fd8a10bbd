"""Small helpers the store's operation modules share: time, JSON and argument checks,
dialect inserts, row counts.

SQLAlchemy is imported by the two helpers that need it: the rest serves readers without it
(:mod:`.sqlite_reader`)."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..errors import InvalidDataError
from ..jsonlimits import MAX_STORED_DEPTH, loads_stored, too_deep
from ..models import ExecutionStatus, Trigger

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

# The most rows one listing returns (executions, audit entries, webhooks, deliveries, fires).
MAX_LIST_LIMIT = 1000


def check_limit(limit: object) -> None:
    """:class:`InvalidDataError` unless ``limit`` is an int from 1 to :data:`MAX_LIST_LIMIT`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidDataError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit!r}")


# An execution id (and so a listing's cursor): 32 lowercase hex digits.
ID_PATTERN = re.compile(r"[0-9a-f]{32}")

E = TypeVar("E", Trigger, ExecutionStatus)


def check_enum(kind: type[E], field: str, value: object) -> E:
    """The member of ``kind`` whose value is ``value``; :class:`InvalidDataError` naming
    ``field`` and the allowed values otherwise."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in kind)
    raise InvalidDataError(f"{field} must be one of {allowed}; got {value!r}")


T = TypeVar("T")

# Keeps "IN (...)" lists well under every backend's bound-parameter limit.
IN_CHUNK = 500


def utcnow() -> datetime.datetime:
    """The current time, timezone-aware UTC (the store never uses the database's clock)."""
    return datetime.datetime.now(datetime.UTC)


def to_ns(moment: datetime.datetime) -> int:
    """``moment`` as integer nanoseconds since the Unix epoch."""
    delta = moment - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def millis_between(start: datetime.datetime, end: datetime.datetime) -> int:
    """Whole milliseconds from ``start`` to ``end`` (never negative)."""
    delta = end - start
    return max(0, (delta.days * 86_400 + delta.seconds) * 1_000 + delta.microseconds // 1_000)


def dumps_json(value: Any) -> str:
    """The JSON serializer of every engine: standard JSON only (no NaN or Infinity), so
    SQLite and PostgreSQL accept and return the same documents."""
    return json.dumps(value, allow_nan=False)


def check_json(field: str, value: Any) -> None:
    """Raise :class:`InvalidDataError` unless ``value`` can be stored as JSON."""
    if too_deep(value, MAX_STORED_DEPTH):
        raise InvalidDataError(f"{field} nests deeper than {MAX_STORED_DEPTH} levels")
    try:
        dumps_json(value)
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"{field} is not JSON-serializable: {exc}") from exc


def stored_json(text: str | None) -> Any:
    """A JSON column read as text, parsed (``None`` for SQL NULL); the common empty values
    need no parser."""
    if text is None or text == "null":
        return None
    if text == "[]":
        return []
    return loads_stored(text)


def check_identifier(field: str, value: object) -> str:
    """``value`` if it is a Python identifier (namespaces and function names must be)."""
    if not isinstance(value, str) or not value.isidentifier():
        raise InvalidDataError(f"{field} must be a Python identifier, got {value!r}")
    return value


def table(orm_class: type[Any]) -> Table:
    """The Core table of an ORM class (for bulk statements)."""
    return cast("Table", orm_class.__table__)


def upsert_insert(
    session: Session | Connection, target: Table
) -> sqlite.Insert | postgresql.Insert:
    """An ``INSERT`` supporting ``ON CONFLICT`` for the session's (or connection's) backend."""
    from sqlalchemy.orm import Session

    bind = session.get_bind() if isinstance(session, Session) else session
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(target)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(target)


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rowcount(result: Any) -> int:
    """How many rows a statement's ``result`` changed (0 when the driver does not say)."""
    return int(getattr(result, "rowcount", 0) or 0)
