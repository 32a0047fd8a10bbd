"""Alembic environment: runs migrations on the connection :mod:`runtree.store.migrate` hands in.

Used programmatically (no ``alembic.ini``): ``config.attributes["connection"]`` is an open
connection inside a transaction that the caller commits. For ad-hoc use without one, the URL
comes from the config's ``sqlalchemy.url`` or ``RUNTREE_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from runtree.environment import environment_value
from runtree.store.engine import DEFAULT_URL, create_store_engine, write_engine
from runtree.store.migrate import owned_by_runtree
from runtree.store.schema import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs by copy
        compare_type=True,
        include_name=owned_by_runtree,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = (
        context.config.get_main_option("sqlalchemy.url")
        or environment_value("RUNTREE_DATABASE_URL")
        or DEFAULT_URL
    )
    engine = create_store_engine(url)
    try:
        with write_engine(engine).begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("runtree migrations run online only")
run_migrations()
