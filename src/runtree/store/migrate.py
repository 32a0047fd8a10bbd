"""Applying the Alembic migrations that ship inside the package.

No ``alembic.ini`` is needed: :func:`alembic_config` builds the configuration in code and
points it at ``runtree/store/migrations``. :func:`upgrade` runs in one write transaction and
is safe when several processes open the same database at once: SQLite serializes them with
``BEGIN IMMEDIATE``, PostgreSQL with a transaction-scoped advisory lock; whoever comes second
finds the schema at head and does nothing. On PostgreSQL a migration ends with ``ANALYZE``.

To write a new migration (developers): ``alembic.command.revision(alembic_config(),
message=..., autogenerate=True)`` with ``RUNTREE_DATABASE_URL`` pointing at a database at
head, then review the generated file in ``migrations/versions/``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreError

if TYPE_CHECKING:
    # Alembic is imported only to migrate (it takes long to import), SQLAlchemy where it is
    # used: reading HEAD_REVISION needs neither (.sqlite_reader).
    from alembic.config import Config
    from sqlalchemy import Engine
    from sqlalchemy.engine import Connection

    from .sealed import Keyring

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# The newest revision in migrations/versions/ (a test checks it against Alembic's view): a
# database already there is opened without importing Alembic, which keeps CLI commands fast.
HEAD_REVISION = "0015"

# Arbitrary constant: the PostgreSQL advisory lock that serializes concurrent migrations.
_PG_MIGRATION_LOCK = 0x72756E74726565  # "runtree"


def owned_by_runtree(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: Procrastinate's tables (the job queue on PostgreSQL,
    created by migration 0010 from Procrastinate's own schema) are not runtree's models, nor
    is the input search index (a virtual table and an expression index, created by SQL in
    its migration)."""
    from runtree.store.input_search import is_search_object

    if is_search_object(name):
        return False
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def alembic_config(connection: Connection | None = None, keyring: Keyring | None = None) -> Config:
    """An Alembic configuration for the packaged migrations, optionally bound to an open
    ``connection`` (which ``env.py`` then uses as it is, without committing) and to the
    ``keyring`` that migrations sealing secrets use (else the database's key source)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    if keyring is not None:
        config.attributes["keyring"] = keyring
    return config


def head_revision() -> str:
    """The newest revision this code knows (from the migration files)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError("no migrations found in the runtree package")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head", *, keyring: Keyring | None = None) -> None:
    """Bring the database schema to ``revision`` (default: the newest); ``keyring`` seals the
    plaintext secrets of older revisions (0006; default: the database's key source).

    Raises :class:`StoreError` when the database is at a revision this code does not know
    (written by a newer runtree).
    """
    if revision == "head" and _recorded_revision(engine) == HEAD_REVISION:
        return  # nothing to do, and no need to import Alembic to find that out
    from alembic import command
    from alembic.util.exc import CommandError
    from sqlalchemy import text

    from .engine import is_sqlite

    with _migration_transaction(engine) as conn:
        if not is_sqlite(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(conn, keyring), revision)
        except CommandError as exc:
            raise StoreError(
                f"cannot migrate the database to {revision!r}: {exc} "
                "(was it written by a newer runtree?)"
            ) from exc
        if not is_sqlite(conn):
            # Fresh statistics for the planner: a migration may have moved many rows, and
            # without statistics (autovacuum off or not yet run) PostgreSQL picked a plan
            # for the payload -> steps key check that made writing steps ~8x slower.
            conn.execute(text("ANALYZE"))
    if is_sqlite(engine):
        # Pages the migrations replaced (plaintext secrets, 0006) may still be in the WAL:
        # copy it into the database, whose replaced content secure_delete zeroed, and empty
        # it. Best effort: a reader of another process can keep part of it for a while.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def _migration_transaction(engine: Engine) -> Iterator[Connection]:
    """The write transaction migrations run in. On SQLite, foreign keys are not enforced
    during it: a batch migration copies a table and drops the original, and dropping a
    parent table with enforcement on deletes every child row through ``ON DELETE CASCADE``
    (``executions`` -> its steps, payloads and private inputs). SQLite ignores the pragma
    inside a transaction, so it is set on the connection before ``BEGIN`` and restored
    after."""
    from .engine import is_sqlite, write_engine

    with write_engine(engine).connect() as conn:
        raw = conn.connection.dbapi_connection if is_sqlite(conn) else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                yield conn
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _recorded_revision(engine: Engine) -> str | None:
    """The revision in Alembic's version table, read with one query; ``None`` when there is
    no such table (a new database) or it holds no single revision."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def downgrade(engine: Engine, revision: str, *, keyring: Keyring | None = None) -> None:
    """Take the schema back to ``revision`` (``"base"`` drops every table; below 0006 the
    secrets are opened with ``keyring``, default: the database's key source). For tests and
    manual repairs only: data in dropped tables is lost."""
    from alembic import command
    from sqlalchemy import text

    from .engine import is_sqlite

    with _migration_transaction(engine) as conn:
        if not is_sqlite(conn):
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.downgrade(alembic_config(conn, keyring), revision)
