"""Queueing on PostgreSQL with the job queue is one statement (runtree.store.queueing): the
execution, its job and its audit entry are written together or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from runtree import service
from runtree.errors import NotFoundError
from runtree.service.executions import prepare_execution
from runtree.store import AuditEntry, Store
from runtree.store.executions import enqueue as enqueue_module
from runtree.store.jobs import defer

from .conftest import PostgresDatabases

pytestmark = pytest.mark.postgres

SOURCE = "def f(x=0):\n    return x\n"
AUDIT = AuditEntry(
    actor="key:abc", action="execution.start", target="default/f", namespace="default"
)


@pytest.fixture
def store(postgres: PostgresDatabases) -> Iterator[Store]:
    with Store(postgres.create()) as opened:
        yield opened


def rows(store: Store, execution_id: str) -> tuple[int, int, list[str]]:
    """``(executions, jobs, audit targets)`` of ``execution_id``."""
    url = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        executions = conn.execute(
            "SELECT count(*) FROM executions WHERE id = %s", (execution_id,)
        ).fetchone()
        jobs = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE lock = %s AND status = 'todo'",
            (execution_id,),
        ).fetchone()
        targets = conn.execute(
            "SELECT target FROM audit_log WHERE target LIKE %s", (f"% {execution_id}",)
        ).fetchall()
    assert executions is not None and jobs is not None
    return executions[0], jobs[0], [t[0] for t in targets]


def statements(store: Store) -> list[tuple[str, bool]]:
    sent: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append((" ".join(statement.split()), bool(conn.connection.autocommit)))

    event.listen(store.engine, "before_cursor_execute", record)
    return sent


def test_an_audited_run_is_queued_by_one_statement_in_autocommit(store: Store) -> None:
    service.deploy(store, "default", "f", SOURCE)
    spec = prepare_execution(store, "default", "f", {"x": 1})
    sent = statements(store)
    queued = store.enqueue_spec(spec, audit=AUDIT)
    assert len(sent) == 1, sent
    sql, autocommit = sent[0]
    assert sql.startswith("WITH queued AS (INSERT INTO executions") and autocommit
    assert rows(store, queued.id) == (1, 1, [f"default/f {queued.id}"])
    assert store.get_execution(queued.id) == queued


def test_a_run_without_an_audit_entry_writes_none(store: Store) -> None:
    service.deploy(store, "default", "f", SOURCE)
    queued = store.enqueue_spec(prepare_execution(store, "default", "f", {"x": 1}))
    assert rows(store, queued.id) == (1, 1, [])


def test_a_deleted_version_queues_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    service.deploy(store, "default", "f", SOURCE)
    spec = prepare_execution(store, "default", "f", {"x": 1})
    url = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM versions")
    monkeypatch.setattr(enqueue_module, "new_execution_id", lambda: "e" * 32)
    with pytest.raises(NotFoundError):
        store.enqueue_spec(spec, audit=AUDIT)
    assert rows(store, "e" * 32) == (0, 0, [])


def test_a_job_that_cannot_be_written_takes_the_execution_and_audit_entry_with_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.deploy(store, "default", "f", SOURCE)
    spec = prepare_execution(store, "default", "f", {"x": 1})
    taken = "f" * 32
    # A waiting job already holds the queueing lock the new execution's job needs.
    with store.engine.begin() as conn:
        defer(conn, taken, "default")
    monkeypatch.setattr(enqueue_module, "new_execution_id", lambda: taken)
    with pytest.raises(IntegrityError):
        store.enqueue_spec(spec, audit=AUDIT)
    executions, jobs, targets = rows(store, taken)
    assert (executions, jobs, targets) == (0, 1, [])  # only the job that was there


def test_private_inputs_and_replays_still_queue_in_one_transaction(store: Store) -> None:
    service.deploy(store, "default", "f", "def f(x=0, token=None):\n    return x\n")
    spec = prepare_execution(store, "default", "f", {"x": 1, "token": "s3cret"})
    assert spec.private_input is not None
    sent = statements(store)
    queued = store.enqueue_spec(spec, audit=AUDIT)
    assert not any(autocommit for _, autocommit in sent)
    assert rows(store, queued.id) == (1, 1, [f"default/f {queued.id}"])
    plain = service.start_execution(store, "default", "f", {"x": 2})
    sent.clear()
    replayed = service.replay(store, service.Principal.local(), plain.id)
    assert replayed.replay_of == plain.id
    assert not any(autocommit for sql, autocommit in sent if "INSERT INTO executions" in sql)
    assert rows(store, replayed.id)[:2] == (1, 1)
