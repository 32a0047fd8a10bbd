"""Fixtures: every store test runs on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL: ``RUNTREE_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
falling back to user ``root``) names a maintenance database; the session creates a randomly
named database from it, empties its tables before each test and drops it at the end. Tests
that need a database without any schema get one more fresh database each. When the server
cannot be reached the PostgreSQL variants are skipped (deselect them with ``-m "not postgres"``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from runtree.store import Store

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TABLES = (
    "retention_policies, schedule_fires, schedules, idempotency_keys, webhook_deliveries, "
    "webhooks, audit_log, api_keys, server_flags, value_hashes, value_hash_keys, step_payloads, "
    "steps, executions, "
    "run_counts, shadow_reports, versions, "
    "functions, workers"
)


class PostgresDatabases:
    """Creates throw-away databases next to the maintenance database and drops them."""

    def __init__(self) -> None:
        self.admin_url = self._find_admin_url()
        self.created: list[str] = []

    @staticmethod
    def _find_admin_url() -> str:
        configured = os.environ.get("RUNTREE_TEST_POSTGRES_URL")
        candidates = (
            [configured]
            if configured
            else [
                DEFAULT_ADMIN_URL,
                DEFAULT_ADMIN_URL.replace("postgres@", "root@", 1),
            ]
        )
        errors = []
        for url in candidates:
            try:
                with psycopg.connect(url, autocommit=True, connect_timeout=5):
                    return url
            except psycopg.Error as exc:
                errors.append(f"{url}: {exc}".strip())
        pytest.skip("PostgreSQL is not reachable: " + "; ".join(errors))

    def create(self) -> str:
        name = f"runtree_test_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # SQLAlchemy warnings (cache keys, deprecations, implicit conversions) fail store tests.
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning"))
            item.add_marker(
                pytest.mark.filterwarnings("error::sqlalchemy.exc.SADeprecationWarning")
            )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresDatabases) -> Iterator[str]:
    """The session's database, migrated once."""
    url = postgres.create()
    Store(url).close()
    yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fresh_url(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database (no tables at all)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    return databases.create()


@pytest.fixture
def db_url(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> str:
    """The URL of a migrated database with no rows."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'runtree.db'}"
    url: str = request.getfixturevalue("postgres_url")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store(db_url)
    try:
        yield opened
    finally:
        opened.close()
