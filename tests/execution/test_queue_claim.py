"""A queue job's claim while the database stays unreachable past the store's bound: the
job is kept and the same claim tried again (failing the job would leave its execution
queued with no job), also while the dispatcher stops."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from runtree.execution.queue import QueueDispatcher


class Unreachable(Exception):
    pass


class FlakyStore:
    """A store whose claim fails as an unreachable database does, ``failures`` times."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, str, bool, datetime.datetime | None]] = []

    def claim_execution(
        self,
        execution_id: str,
        worker_id: str,
        *,
        from_job: bool = False,
        at: datetime.datetime | None = None,
    ) -> Any:
        self.calls.append((execution_id, worker_id, from_job, at))
        if len(self.calls) <= self.failures:
            error = OperationalError("UPDATE executions ...", {}, Unreachable("gone"))
            error.connection_invalidated = True
            raise error
        return "claimed"


def test_a_claim_unanswered_past_the_bound_is_the_same_claim_tried_again() -> None:
    store = FlakyStore(failures=2)
    dispatcher = QueueDispatcher(store, None, slots=0)  # type: ignore[arg-type]
    assert asyncio.run(dispatcher._claim("e1")) == "claimed"
    assert len(store.calls) == 3
    assert {call[:3] for call in store.calls} == {("e1", dispatcher.worker_id, True)}
    times = {call[3] for call in store.calls}
    assert len(times) == 1 and None not in times  # one claim: found again if it committed


def test_a_stopping_dispatcher_keeps_the_claim_too() -> None:
    # Giving up would fail the job: its execution left queued with no job.
    store = FlakyStore(failures=3)
    dispatcher = QueueDispatcher(store, None, slots=0)  # type: ignore[arg-type]
    dispatcher._stopping.set()
    assert asyncio.run(dispatcher._claim("e1")) == "claimed"
    assert len(store.calls) == 4


def test_a_failing_claim_that_is_no_disconnection_is_not_retried() -> None:
    class Broken(FlakyStore):
        def claim_execution(self, *args: Any, **kwargs: Any) -> Any:
            self.calls.append(("", "", False, None))
            raise OperationalError("UPDATE executions ...", {}, Unreachable("a bad query"))

    store = Broken(failures=0)
    dispatcher = QueueDispatcher(store, None, slots=0)  # type: ignore[arg-type]
    with pytest.raises(OperationalError):
        asyncio.run(dispatcher._claim("e1"))
    assert len(store.calls) == 1
