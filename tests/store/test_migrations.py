"""Opening a store migrates the database; migrations and ORM models agree."""

from __future__ import annotations

import threading

import alembic.command
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from runtree.store import Store, StoreError, normalize_url
from runtree.store import migrate as migrations
from runtree.store.engine import create_store_engine
from runtree.store.schema import Base

TABLES = {"functions", "versions", "executions", "steps", "step_payloads", "alembic_version"}


def test_migrations_apply_on_an_empty_database(fresh_url: str) -> None:
    engine = create_store_engine(fresh_url)
    try:
        assert migrations.current_revision(engine) is None
        assert not set(inspect(engine).get_table_names()) & TABLES
    finally:
        engine.dispose()
    with Store(fresh_url) as store:
        assert store.schema_revision() == migrations.head_revision()
        assert TABLES <= set(inspect(store.engine).get_table_names())


def test_migrations_are_idempotent(fresh_url: str) -> None:
    with Store(fresh_url) as store:
        store.deploy_version("default", "f", source="x", settings={}, sha256="a")
    with Store(fresh_url) as store:  # opening again migrates nothing and keeps the data
        migrations.upgrade(store.engine)
        assert store.schema_revision() == migrations.head_revision()
        assert store.get_version("default", "f") is not None


def test_downgrade_to_base_and_back(fresh_url: str) -> None:
    with Store(fresh_url) as store:
        migrations.downgrade(store.engine, "base")
        assert not set(inspect(store.engine).get_table_names()) & (TABLES - {"alembic_version"})
        migrations.upgrade(store.engine)
        assert store.schema_revision() == migrations.head_revision()
        assert store.deploy_version("default", "f", source="x", settings={}, sha256="a")[1]


def test_models_match_migrations(fresh_url: str) -> None:
    with Store(fresh_url) as store, store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": migrations.owned_by_runtree}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_concurrent_opens_migrate_once(fresh_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_store() -> None:
        try:
            barrier.wait()
            Store(fresh_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store(fresh_url, migrate=False) as store:
        assert store.schema_revision() == migrations.head_revision()


def test_a_database_from_a_newer_runtree_is_refused(fresh_url: str) -> None:
    Store(fresh_url).close()
    engine = create_store_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer runtree"):
        Store(fresh_url)


def test_migrate_false_leaves_the_schema_alone(fresh_url: str) -> None:
    with Store(fresh_url, migrate=False) as store:
        assert store.schema_revision() is None


def test_sqlite_connections_are_configured(tmp_path: object) -> None:
    with Store(f"sqlite:///{tmp_path}/x.db") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_in_memory_sqlite_works() -> None:
    with Store("sqlite://") as store:
        version, created = store.deploy_version("default", "f", source="x", settings={}, sha256="a")
        assert created and store.get_version("default", "f") == version


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u:p@h:5433/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///runtree.db", "sqlite"),
        ("sqlite://", "sqlite"),
    ],
)
def test_normalize_url(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreError):
        normalize_url(url)


def test_repr_hides_the_password() -> None:
    url = normalize_url("postgresql://user:secret@h/db")
    assert "secret" not in url.render_as_string(hide_password=True)


def test_upgrade_keeps_data_written_at_the_first_revision(fresh_url: str) -> None:
    engine = create_store_engine(fresh_url)
    try:
        migrations.upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO functions (namespace, name, created_at)"
                    " VALUES ('default', 'old', '2026-01-01 00:00:00')"
                )
            )
    finally:
        engine.dispose()
    with Store(fresh_url) as store:
        assert store.schema_revision() == migrations.head_revision()
        function = store.get_function("default", "old")
        assert function is not None and function.created_at.year == 2026


def test_opening_a_database_at_head_runs_no_alembic(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(fresh_url).close()
    calls: list[str] = []
    monkeypatch.setattr(alembic.command, "upgrade", lambda *a, **k: calls.append("upgrade"))
    Store(fresh_url).close()  # at head: recognised with one read
    assert calls == []
    store = Store(fresh_url, migrate=False)
    migrations.downgrade(store.engine, "base")
    store.close()
    Store(fresh_url).close()  # behind head: Alembic runs (here, the stub)
    assert calls == ["upgrade"]
