"""What a queue worker's store calls send to PostgreSQL: every statement is a round trip to
a PostgreSQL backend, so the warm path sends as few as its guarantees allow (docs/scaling.md,
"Where the time goes")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from runtree import service
from runtree.errors import InvalidDataError
from runtree.store import Store

from .conftest import PostgresDatabases

pytestmark = pytest.mark.postgres

SOURCE = "def f(x=0):\n    return x\n"
STEP = {
    "id": 1,
    "parent_id": None,
    "sequence": 1,
    "depth": 0,
    "name": "f",
    "filename": "default/f.py",
    "lineno": 1,
    "status": "completed",
    "started_at_ns": 1,
    "duration_ns": 5,
    "inputs": {"x": {"preview": 1, "size": 1}},
    "output": {"preview": 1, "size": 1},
}


class Statements:
    """The statements an engine sends, each with whether its connection was in autocommit
    (no BEGIN/COMMIT around it)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.sent.append((" ".join(statement.split()), bool(conn.connection.autocommit)))


@pytest.fixture
def store(postgres: PostgresDatabases) -> Iterator[Store]:
    with Store(postgres.create()) as opened:
        yield opened


def recorded(store: Store) -> Statements:
    statements = Statements()
    event.listen(store.engine, "before_cursor_execute", statements)
    return statements


def test_a_job_claims_its_execution_with_one_statement_outside_a_transaction(
    store: Store,
) -> None:
    service.deploy(store, "default", "f", SOURCE)
    queued = service.start_execution(store, "default", "f", {"x": 1})
    statements = recorded(store)
    claimed = store.claim_execution(queued.id, "worker:1", from_job=True)
    assert claimed is not None and claimed.status == "running"
    assert len(statements.sent) == 1
    sql, autocommit = statements.sent[0]
    assert sql.startswith("UPDATE executions") and "RETURNING" in sql and autocommit
    # Taken already: still one guarded statement, then a read telling "gone" from "taken".
    assert store.claim_execution(queued.id, "worker:2", from_job=True) is None


def test_reading_an_execution_is_one_statement_outside_a_transaction(store: Store) -> None:
    service.deploy(store, "default", "f", SOURCE)
    queued = service.start_execution(store, "default", "f", {"x": 1})
    statements = recorded(store)
    assert store.get_execution(queued.id) is not None
    assert [autocommit for _, autocommit in statements.sent] == [True]


def test_the_end_steps_and_world_are_one_transaction_locking_the_execution_once(
    store: Store,
) -> None:
    service.deploy(store, "default", "f", SOURCE)
    queued = service.start_execution(store, "default", "f", {"x": 1})
    assert store.claim_execution(queued.id, "worker:1", from_job=True) is not None
    statements = recorded(store)
    commits: list[object] = []
    event.listen(store.engine, "commit", commits.append)
    ended = store.finish_execution(
        queued.id,
        status="succeeded",
        output=1,
        steps=[STEP],
        world={"recording": {"version": 1, "entries": []}},
    )
    assert ended.status == "succeeded"
    assert len(commits) == 1
    assert not any(autocommit for _, autocommit in statements.sent)
    locks = [sql for sql, _ in statements.sent if sql.endswith("FOR UPDATE")]
    assert len(locks) == 1, locks
    # The recording is one upsert, without a savepoint (two round trips) around it.
    assert not any("SAVEPOINT" in sql for sql, _ in statements.sent)
    world = store.get_world(queued.id)
    assert world is not None and world.recording == {"version": 1, "entries": []}
    assert [step.id for step in store.get_steps(queued.id)] == [1]


def test_the_end_interrupts_forgets_and_announces_in_the_statement_that_ends_it(
    store: Store,
) -> None:
    """On PostgreSQL the end's row, its steps still running, its private input and its
    NOTIFY are one statement: what each did as a statement of its own is still done."""
    service.deploy(store, "default", "f", "def f(x=0, token=None):\n    return x\n")
    queued = service.start_execution(store, "default", "f", {"x": 1, "token": "s3cret"})
    assert store.private_input(queued.id) == {"x": 1, "token": "s3cret"}
    assert store.claim_execution(queued.id, "worker:1", from_job=True) is not None
    store.save_steps(queued.id, [{**STEP, "status": "running", "duration_ns": None}])
    statements = recorded(store)
    ended = store.finish_execution(queued.id, status="failed", error={"type": "X"})
    assert ended.status == "failed"
    ends = [sql for sql, _ in statements.sent if "UPDATE executions" in sql]
    assert len(ends) == 1 and "pg_notify" in ends[0], statements.sent
    separate = ("SELECT pg_notify", "UPDATE steps", "DELETE FROM execution_private_inputs")
    assert not [sql for sql, _ in statements.sent if sql.startswith(separate)]
    (step,) = store.get_steps(queued.id)
    assert step.status == "interrupted" and step.duration_ns is not None
    assert store.private_input(queued.id) is None


def test_the_value_index_key_is_read_once_per_store_and_never_kept_from_a_rollback(
    store: Store,
) -> None:
    """The index's HMAC key never changes, so the store reads it once; a key made in a
    transaction that then failed is not kept (it was never stored)."""
    service.deploy(store, "default", "f", SOURCE)
    first = service.start_execution(store, "default", "f", {"x": 1})
    with pytest.raises(InvalidDataError):  # the steps (and the key) first, then the refusal
        store.finish_execution(first.id, status="running", steps=[STEP])
    statements = recorded(store)
    store.save_steps(first.id, [STEP])  # makes the key again, for good
    store.save_steps(first.id, [{**STEP, "id": 3, "sequence": 3}])  # reads it: kept now
    statements.sent.clear()
    second = service.start_execution(store, "default", "f", {"x": 2})
    assert store.claim_execution(second.id, "worker:1", from_job=True) is not None
    store.finish_execution(second.id, status="succeeded", output=1, steps=[STEP])
    assert not [sql for sql, _ in statements.sent if "value_hash_keys" in sql]
    # What was indexed with the key kept is found by a store that reads the stored key.
    with Store(store.engine.url.render_as_string(hide_password=False)) as fresh:
        page, _ = fresh.find_value("1")
    assert {execution.id for execution, _ in page} == {first.id, second.id}
