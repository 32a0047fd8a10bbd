"""Reading one execution and its steps from a SQLite database with the standard library alone.

``runtree show ID`` on a local SQLite database reads through :func:`open_reader` instead of a
:class:`~runtree.store.Store`: importing SQLAlchemy and the ORM schema costs several times
what the rest of the command does. Only a database that a store would open as it is -- a file
that exists, at the newest schema (:data:`.migrate.HEAD_REVISION`) -- is read here; for
anything else (no file yet, an older schema the store would migrate, in-memory, a URL with
options or another driver) :func:`open_reader` returns ``None`` and the caller opens the
store.

The rows become records through the conversions the store itself uses
(:func:`.execution_rows.execution_record`, :func:`.step_codec.decode_step`); the column values
are turned into what SQLAlchemy's column types return by the columns' declared types in the
database (``DATETIME``: timezone-aware UTC, ``JSON``: parsed, ``BOOLEAN``: ``bool``). A test
reads the same executions both ways and compares the records.
"""

from __future__ import annotations

import datetime
import sqlite3
import types
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..models import ExecutionRecord, StepRecord
from .common import stored_json
from .execution_rows import execution_record
from .step_codec import decode_step

_URL_PREFIX = "sqlite:///"
# How long a read waits for a writer's lock (the store's engine waits as long).
_BUSY_TIMEOUT_S = 30.0


def _timestamp(value: Any) -> datetime.datetime | None:
    # SQLAlchemy stores DateTime on SQLite as "YYYY-MM-DD HH:MM:SS.ffffff", in UTC (schema.py).
    if value is None:
        return None
    return datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.UTC)


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "DATETIME": _timestamp,
    "JSON": stored_json,
    "BOOLEAN": _flag,
}


def database_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:///PATH`` URL, or ``None`` for any other URL."""
    if not url.startswith(_URL_PREFIX):
        return None
    path = url[len(_URL_PREFIX) :]
    if not path or path == ":memory:" or path.startswith("file:") or "?" in path:
        return None
    return Path(path)


class SqliteReader:
    """The executions and steps of one SQLite database, read-only (see the module
    docstring). Close it with :meth:`close`."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._converters: dict[str, dict[str, Callable[[Any], Any]]] = {}

    def _columns(self, table: str) -> dict[str, Callable[[Any], Any]]:
        """The converters of ``table``'s columns that need one, by column name."""
        found = self._converters.get(table)
        if found is None:
            found = {}
            for _cid, name, declared, *_rest in self._connection.execute(
                f"PRAGMA table_info({table})"
            ):
                converter = _CONVERTERS.get(str(declared).upper())
                if converter is not None:
                    found[name] = converter
            self._converters[table] = found
        return found

    def _rows(self, table: str, sql: str, *parameters: Any) -> list[dict[str, Any]]:
        converters = self._columns(table)
        cursor = self._connection.execute(sql, parameters)
        names = [column[0] for column in cursor.description]
        rows = []
        for values in cursor:
            row = dict(zip(names, values, strict=True))
            for name, converter in converters.items():
                if name in row:
                    row[name] = converter(row[name])
            rows.append(row)
        return rows

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        """The execution, or ``None`` (as :meth:`Store.get_execution`)."""
        rows = self._rows("executions", "SELECT * FROM executions WHERE id = ?", execution_id)
        return execution_record(types.SimpleNamespace(**rows[0])) if rows else None

    def get_steps(self, execution_id: str) -> list[StepRecord]:
        """All steps of an execution in sequence order, without their serialized originals
        (as :meth:`Store.get_steps`)."""
        steps = self._rows(
            "steps",
            "SELECT * FROM steps WHERE execution_id = ? ORDER BY sequence, id",
            execution_id,
        )
        if not steps:
            return []
        payload_columns = ", ".join(
            name for name in self._column_names("step_payloads") if name != "blob"
        )
        by_step: dict[int, list[Mapping[str, Any]]] = {}
        for payload in self._rows(
            "step_payloads",
            f"SELECT {payload_columns} FROM step_payloads WHERE execution_id = ? "
            "ORDER BY step_id, kind, position",
            execution_id,
        ):
            by_step.setdefault(payload["step_id"], []).append(payload)
        return [
            decode_step(execution_id, row, by_step.get(row["id"], []), blobs=False) for row in steps
        ]

    def _column_names(self, table: str) -> list[str]:
        return [row[1] for row in self._connection.execute(f"PRAGMA table_info({table})")]

    def close(self) -> None:
        self._connection.close()


def open_reader(url: str) -> SqliteReader | None:
    """A reader of the SQLite database at ``url`` when a store would open it as it is (see
    the module docstring), else ``None``."""
    from .migrate import HEAD_REVISION

    path = database_path(url)
    if path is None or not path.is_file():
        return None
    target = urllib.parse.quote(str(path.resolve()))
    try:
        # mode=rw: never creates the file; the reader only reads.
        connection = sqlite3.connect(f"file:{target}?mode=rw", uri=True, timeout=_BUSY_TIMEOUT_S)
    except sqlite3.Error:
        return None
    try:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        revision = []
    if revision != [(HEAD_REVISION,)]:
        connection.close()
        return None
    return SqliteReader(connection)
