"""Pooled PostgreSQL connections whose server side went away are replaced on checkout,
without a ping per transaction (runtree.store.liveness)."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from runtree import service
from runtree.store import Store
from runtree.store.liveness import check_pooled, connection_alive

from .conftest import PostgresDatabases

pytestmark = pytest.mark.postgres

SOURCE = "def f(x=0):\n    return x\n"


def terminate_other_backends(url: str) -> None:
    """Cut every other connection to the database (as a PostgreSQL restart does) and wait
    until their backends are gone."""
    with psycopg.connect(url, autocommit=True) as admin:
        others = (
            "FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        admin.execute(f"SELECT pg_terminate_backend(pid) {others}")
        deadline = time.monotonic() + 10
        while admin.execute(f"SELECT count(*) {others}").fetchone() != (0,):
            assert time.monotonic() < deadline, "the backends did not go away"
            time.sleep(0.02)


def wait_dead(connection: psycopg.Connection | psycopg.AsyncConnection) -> None:
    deadline = time.monotonic() + 10
    while connection_alive(connection):
        assert time.monotonic() < deadline, "a terminated connection still looks alive"
        time.sleep(0.01)


@pytest.fixture
def url(postgres: PostgresDatabases) -> str:
    return postgres.create()


def test_an_idle_connection_is_alive_until_its_backend_is_terminated(url: str) -> None:
    with psycopg.connect(url) as connection:
        connection.execute("SELECT 1")
        connection.commit()
        assert connection_alive(connection)
        terminate_other_backends(url)
        wait_dead(connection)
    assert not connection_alive(connection)  # closed


def test_the_async_pool_check_refuses_a_terminated_connection(url: str) -> None:
    async def scenario() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            await check_pooled(connection)  # alive: no error
            terminate_other_backends(url)
            wait_dead(connection)
            with pytest.raises(psycopg.OperationalError):
                await check_pooled(connection)

    asyncio.run(scenario())


def test_an_async_pool_with_the_check_replaces_terminated_connections(url: str) -> None:
    # As Procrastinate's pool in a queue worker (runtree.execution.queue).
    from psycopg_pool import AsyncConnectionPool

    async def scenario() -> None:
        async with AsyncConnectionPool(
            url, min_size=2, max_size=2, check=check_pooled, open=False
        ) as pool:
            await pool.wait(timeout=10)
            terminate_other_backends(url)
            for _ in range(4):
                async with pool.connection(timeout=10) as connection:
                    cursor = await connection.execute("SELECT 1")
                    assert await cursor.fetchone() == (1,)

    asyncio.run(scenario())


def test_the_store_replaces_pooled_connections_the_server_closed(url: str) -> None:
    with Store(url) as store:
        service.deploy(store, "default", "f", SOURCE)
        queued = service.start_execution(store, "default", "f", {"x": 1})
        assert store.get_execution(queued.id) is not None  # pooled connections, now idle
        terminate_other_backends(url)
        # Each kind of transaction gets a live connection: a one-statement read, a read
        # transaction, a write transaction and a one-statement write.
        assert store.get_execution(queued.id) is not None
        terminate_other_backends(url)
        assert store.list_executions(limit=5)[0]
        terminate_other_backends(url)
        second = service.start_execution(store, "default", "f", {"x": 2})
        terminate_other_backends(url)
        claimed = store.claim_execution(second.id, "worker:test", from_job=True)
        assert claimed is not None and claimed.worker_id == "worker:test"
