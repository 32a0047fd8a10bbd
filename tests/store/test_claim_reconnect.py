"""A job's claim survives the database connection dropping under it (issue #17: "a queued
execution is never lost or run twice"): the claim is retried, and a retry after a claim
that committed but whose answer was lost finds that claim again -- and nobody else's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from runtree import service
from runtree.store import Store

from .conftest import PostgresDatabases

pytestmark = pytest.mark.postgres

SOURCE = "def f(x=0):\n    return x\n"


@pytest.fixture
def url(postgres: PostgresDatabases) -> str:
    return postgres.create()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store(url) as opened:
        service.deploy(opened, "default", "f", SOURCE)
        yield opened


def terminate(url: str, pid: int) -> None:
    """End backend ``pid`` (as a PostgreSQL restart does) and wait until it is gone."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the backend did not go away"
            time.sleep(0.02)


def is_claim(statement: str) -> bool:
    return statement.lstrip().startswith("UPDATE executions") and "RETURNING" in statement


def claim_log(url: str) -> None:
    """Log every move of an execution from queued to running (a claim that took effect)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            CREATE TABLE test_claims (execution_id text, worker_id text);
            CREATE FUNCTION test_log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO test_claims VALUES (NEW.id, NEW.worker_id);
                RETURN NEW;
            END;
            $$;
            CREATE TRIGGER test_log_claim AFTER UPDATE OF status ON executions FOR EACH ROW
                WHEN (NEW.status = 'running' AND OLD.status = 'queued')
                EXECUTE FUNCTION test_log_claim();
            """
        )


def claims(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [tuple(row) for row in conn.execute("SELECT * FROM test_claims")]


def test_a_claim_whose_connection_dropped_before_it_ran_is_made_again(
    store: Store, url: str
) -> None:
    claim_log(url)
    queued = service.start_execution(store, "default", "f", {"x": 1})
    cut: list[int] = []

    def cut_before_the_claim(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if is_claim(statement) and not cut:
            pid = conn.connection.dbapi_connection.info.backend_pid
            cut.append(pid)
            terminate(url, pid)  # the statement goes to a backend that is gone

    event.listen(store.engine, "before_cursor_execute", cut_before_the_claim)
    claimed = store.claim_execution(queued.id, "worker:1", from_job=True)
    assert cut, "the claim was not cut"
    assert claimed is not None and claimed.status == "running"
    assert claimed.worker_id == "worker:1"
    assert claims(url) == [(queued.id, "worker:1")]


def test_a_claim_committed_but_unanswered_is_found_again_and_by_nobody_else(
    store: Store, url: str
) -> None:
    claim_log(url)
    queued = service.start_execution(store, "default", "f", {"x": 1})
    cut: list[int] = []

    def lose_the_answer(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Autocommit: the claim has committed when its answer arrives. Then the connection
        # drops, and the answer with it.
        if is_claim(statement) and not cut:
            pid = conn.connection.dbapi_connection.info.backend_pid
            cut.append(pid)
            terminate(url, pid)
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    event.listen(store.engine, "after_cursor_execute", lose_the_answer)
    claimed = store.claim_execution(queued.id, "worker:1", from_job=True)
    assert cut, "the claim's answer was not lost"
    assert claimed is not None and claimed.status == "running"
    assert claimed.worker_id == "worker:1"
    # Claimed once (the retry moved nothing), and no other claim takes it: not another
    # worker, nor another claim of the same worker (another job).
    assert store.claim_execution(queued.id, "worker:2", from_job=True) is None
    assert store.claim_execution(queued.id, "worker:1", from_job=True) is None
    assert claims(url) == [(queued.id, "worker:1")]
    stored = store.get_execution(queued.id)
    assert stored is not None and stored.status == "running" and stored.worker_id == "worker:1"
    assert stored.started_at == claimed.started_at


def test_a_claim_past_the_reconnect_bound_raises(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from runtree.store.repositories import executions

    monkeypatch.setattr(executions, "FINISH_RECONNECT_S", 0.5)
    queued = service.start_execution(store, "default", "f", {"x": 1})
    attempts: list[str] = []

    def always_cut(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if is_claim(statement):
            attempts.append(statement)
            terminate(url, conn.connection.dbapi_connection.info.backend_pid)

    event.listen(store.engine, "before_cursor_execute", always_cut)
    with pytest.raises(OperationalError):
        store.claim_execution(queued.id, "worker:1", from_job=True)
    assert len(attempts) > 1  # retried, then gave up
    event.remove(store.engine, "before_cursor_execute", always_cut)
    stored = store.get_execution(queued.id)
    assert stored is not None and stored.status == "queued"
