"""No execution stays ``running`` once nothing runs it (issue 10)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtree.execution.dispatcher import LocalDispatcher
from runtree.execution.runner import ExecutionRunner
from runtree.execution.supervisor import Outcome
from runtree.models import ExecutionRecord
from runtree.service import deploy, start_execution
from runtree.store import Store


class BrokenRunner:
    """An engine whose run fails before it records the end (as when the database does)."""

    def __init__(self) -> None:
        self.called = threading.Event()

    def run(self, execution: ExecutionRecord, cancel: Any, slot: int | None = None) -> Any:
        self.called.set()
        raise RuntimeError("the engine broke")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'runtree.db'}")
    deploy(opened, "default", "answer", "def answer():\n    return 42\n")
    yield opened
    opened.close()


def wait_finished(store: Store, execution_id: str) -> ExecutionRecord:
    for _ in range(200):
        record = store.get_execution(execution_id)
        assert record is not None
        if record.finished_at is not None:
            return record
        threading.Event().wait(0.05)
    raise AssertionError(f"{execution_id} stayed {record.status}")


def test_an_execution_whose_engine_failed_ends_crashed(store: Store) -> None:
    runner = BrokenRunner()
    dispatcher = LocalDispatcher(store, runner, slots=1)  # type: ignore[arg-type]
    execution = start_execution(store, "default", "answer")
    dispatcher.start()
    try:
        record = wait_finished(store, execution.id)
    finally:
        dispatcher.stop(grace=1)
    assert runner.called.is_set()
    assert record.status == "crashed" and record.error["type"] == "EngineError"


def test_cancel_ends_an_execution_of_ours_that_no_slot_runs(store: Store) -> None:
    dispatcher = LocalDispatcher(store, BrokenRunner(), slots=1)  # type: ignore[arg-type]
    execution = start_execution(store, "default", "answer")
    store.claim_execution(execution.id, dispatcher.worker_id)  # claimed, then lost
    assert dispatcher.cancel(execution.id)
    record = store.get_execution(execution.id)
    assert record is not None and record.status == "cancelled"


def test_cancel_leaves_an_execution_of_another_server_alone(store: Store) -> None:
    dispatcher = LocalDispatcher(store, BrokenRunner(), slots=1)  # type: ignore[arg-type]
    execution = start_execution(store, "default", "answer")
    store.claim_execution(execution.id, "server:elsewhere:1")
    assert not dispatcher.cancel(execution.id)
    record = store.get_execution(execution.id)
    assert record is not None and record.status == "running"


class LyingSupervisor:
    def run(self, job: Any, **options: Any) -> Outcome:
        return Outcome(status="running")  # not an end: the store refuses it


def test_an_end_the_store_refuses_is_recorded_as_a_crash(store: Store) -> None:
    execution = start_execution(store, "default", "answer")
    claimed = store.claim_execution(execution.id, "server:here:1")
    record = ExecutionRunner(store, LyingSupervisor()).run(claimed)  # type: ignore[arg-type]
    assert record.status == "crashed" and record.error["type"] == "EngineError"
    stored = store.get_execution(execution.id)
    assert stored is not None and stored.status == "crashed"
