"""Database URLs and engines: one place that knows SQLite from PostgreSQL.

SQLite connections get WAL journaling, foreign keys, a busy timeout,
``synchronous=NORMAL`` and ``auto_vacuum=INCREMENTAL`` (new databases only: see
:func:`_sqlite_on_connect`). SQLAlchemy (not the ``sqlite3`` module) emits ``BEGIN`` so that
transactions cover reads and DDL too; a *write* engine (see :func:`write_engine`) begins with
``BEGIN IMMEDIATE``, taking SQLite's write lock up front so that read-then-write transactions
(claiming an execution, deploying a version) are serialized instead of failing with
``SQLITE_BUSY`` half-way through. Read transactions stay ``DEFERRED`` and never block writers
in WAL mode.

A SQLite database file is private: created 0600 before SQLite opens it (SQLite gives its
``-wal`` and ``-shm`` files the database file's mode), and tightened to 0600 when it (or its
``-wal``/``-shm``) is ours and readable by others -- it holds webhook secrets and the real
values of redacted inputs.

PostgreSQL URLs are normalized to the psycopg 3 driver; a pooled PostgreSQL connection whose
server side is gone is replaced when it is checked out, without a ping (:mod:`.liveness`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from ..defaults import DEFAULT_DATABASE_URL
from ..errors import StoreError
from ..jsonlimits import loads_stored
from .common import dumps_json
from .liveness import check_on_checkout

DEFAULT_URL = DEFAULT_DATABASE_URL
SQLITE_BUSY_TIMEOUT_MS = 30_000

# Execution option read by the SQLite "begin" hook: which BEGIN to emit.
_BEGIN_OPTION = "runtree_sqlite_begin"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pick the driver runtree uses for it.

    ``postgres://``, ``postgresql://`` become ``postgresql+psycopg://``; other drivers named
    explicitly are kept. Raises :class:`StoreError` for unparsable URLs and for backends
    other than SQLite and PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError, ValueError ...
        raise StoreError(f"invalid database URL {str(url)!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreError(
            f"unsupported database {backend!r}: runtree stores data in SQLite or PostgreSQL"
        )
    return parsed


def is_sqlite(engine: Engine | Connection) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def create_store_engine(url: str | URL) -> Engine:
    """A configured engine for ``url`` (see the module docstring for what is configured).

    In-memory SQLite (``sqlite://``) uses one shared connection: fine for tests and
    one-off scripts, not for concurrent use.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(parsed, json_serializer=dumps_json, json_deserializer=loads_stored)
        # Dead pooled connections are replaced on checkout, as pool_pre_ping would, but
        # without its round trip per transaction (see .liveness).
        event.listen(engine, "checkout", check_on_checkout)
        return engine
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False},
        "json_serializer": dumps_json,
        "json_deserializer": loads_stored,
    }
    if parsed.database in (None, "", ":memory:"):
        kwargs["poolclass"] = StaticPool
    elif not parsed.database.startswith("file:"):
        make_private(parsed.database)
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(database: str) -> None:
    """Create the SQLite file ``database`` readable and writable by its owner only (if it is
    missing), and take group and other permissions away from it and its companion files that
    exist and belong to this process's user. Paths it cannot touch are left to SQLite, which
    reports them."""
    with contextlib.suppress(
        FileExistsError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError
    ):
        os.close(
            os.open(
                database, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE
            )
        )
    for suffix in SQLITE_COMPANIONS:
        path = database + suffix
        try:
            info = os.stat(path)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & 0o077:
                os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
        except OSError:
            continue


def write_engine(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions start as writers.

    On SQLite they begin with ``BEGIN IMMEDIATE``; on PostgreSQL nothing changes.
    """
    if not is_sqlite(engine):
        return engine
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_on_begin): the sqlite3 module's legacy
    # transaction control would leave SELECTs and DDL outside transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # Takes effect in a database that has no table yet (a new one), and at the next VACUUM
        # in an older one (runtree storage --vacuum): pruning gives space back to the file
        # system (runtree.store.retention.incremental_vacuum) instead of only reusing it.
        cursor.execute("PRAGMA auto_vacuum = INCREMENTAL")
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    # Switching a new database to WAL needs an exclusive lock, and SQLite reports "database
    # is locked" at once (without the busy handler) when connections race for it: retry.
    # The mode is persistent, so this only ever waits while a database is being created.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")
