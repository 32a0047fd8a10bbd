"""The completion hub: requests waiting for executions are woken without polling."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

from runtree.api.waiting import CompletionHub, wait_finished
from runtree.models import ExecutionRecord, ExecutionStatus
from runtree.service import deploy, start_execution
from runtree.store import Store
from runtree.store.end_notice import notice_payload, parse_notice


def finished_copy(store: Store, record: ExecutionRecord) -> ExecutionRecord:
    store.claim_execution(record.id, "test")
    return store.finish_execution(record.id, status="succeeded", output=1)


def make_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path}/hub.db")
    deploy(store, "default", "f", "def f():\n    return 1\n")
    return store


def test_publish_from_another_thread_wakes_the_waiter(tmp_path: Path) -> None:
    hub = CompletionHub()
    with make_store(tmp_path) as store:
        queued = start_execution(store, "default", "f")

        async def scenario() -> tuple[ExecutionRecord, float]:
            finisher = threading.Timer(0.1, lambda: hub.publish(finished_copy(store, queued)))
            started = time.monotonic()
            finisher.start()
            record = await wait_finished(store, hub, queued, timeout=10)
            return record, time.monotonic() - started

        record, elapsed = asyncio.run(scenario())
    assert record.status == "succeeded"
    assert elapsed < 1
    assert hub.waiting == 0


def test_recently_finished_is_not_missed(tmp_path: Path) -> None:
    hub = CompletionHub()
    with make_store(tmp_path) as store:
        queued = start_execution(store, "default", "f")
        hub.publish(finished_copy(store, queued))  # before anyone waits

        async def scenario() -> ExecutionRecord:
            return await wait_finished(store, hub, queued, timeout=10)

        assert asyncio.run(scenario()).status == "succeeded"


def test_finished_elsewhere_is_found_by_polling(tmp_path: Path) -> None:
    hub = CompletionHub()  # nobody publishes
    with make_store(tmp_path) as store:
        queued = start_execution(store, "default", "f")
        threading.Timer(0.1, lambda: finished_copy(store, queued)).start()

        async def scenario() -> ExecutionRecord:
            return await wait_finished(store, hub, queued, timeout=10)

        started = time.monotonic()
        assert asyncio.run(scenario()).status == "succeeded"
        assert time.monotonic() - started < 2
    assert hub.waiting == 0


def test_timeout_returns_the_current_record(tmp_path: Path) -> None:
    hub = CompletionHub()
    with make_store(tmp_path) as store:
        queued = start_execution(store, "default", "f")

        async def scenario() -> ExecutionRecord:
            return await wait_finished(store, hub, queued, timeout=0.1)

        assert asyncio.run(scenario()).status == "queued"
    assert hub.waiting == 0


def test_the_hub_remembers_a_bounded_number(tmp_path: Path) -> None:
    hub = CompletionHub(remember=2)
    with make_store(tmp_path) as store:
        records = [finished_copy(store, start_execution(store, "default", "f")) for _ in range(3)]
    for record in records:
        hub.publish(record)

    async def scenario() -> list[bool]:
        futures = [hub.subscribe(r.id) for r in records]
        done = [f.done() for f in futures]
        assert all(f.result() is None for f in futures if f.done())  # ids only
        for record, future in zip(records, futures):
            hub.unsubscribe(record.id, future)
        return done

    assert asyncio.run(scenario()) == [False, True, True]
    assert hub.waiting == 0


def test_a_publish_during_the_stores_read_is_not_answered_with_the_read(tmp_path: Path) -> None:
    """The race the scale-out benchmark hit (8 clients, SQLite): the execution is published
    while the backstop poll reads the store, which still says ``running``; the waiter must
    answer with the published end, not with that read (a 202 "running" to a caller that
    asked to wait 120 s)."""
    hub = CompletionHub()
    with make_store(tmp_path) as store:
        queued = start_execution(store, "default", "f")
        claimed = store.claim_execution(queued.id, "test")
        assert claimed is not None
        running: ExecutionRecord = claimed
        ended = dataclasses.replace(running, status=ExecutionStatus.SUCCEEDED)

        class ReadRacingThePublish:
            def get_execution(self, execution_id: str) -> ExecutionRecord:
                hub.publish(ended)  # lands while the read is under way
                return running

        async def scenario() -> ExecutionRecord:
            racing: Any = ReadRacingThePublish()
            return await wait_finished(racing, hub, queued, timeout=10)

        assert asyncio.run(scenario()).status == ExecutionStatus.SUCCEEDED
    assert hub.waiting == 0


class NoReads:
    """A store that must not be read."""

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        raise AssertionError("the store was read")


def test_an_end_announced_elsewhere_completes_the_record_without_a_read(tmp_path: Path) -> None:
    hub = CompletionHub()
    with make_store(tmp_path) as store:
        queued = start_execution(store, "default", "f")
        stored = finished_copy(store, queued)
        notice = parse_notice(notice_payload(stored))[1]
        assert notice is not None

        async def scenario() -> ExecutionRecord:
            announce = threading.Timer(0.1, hub.finished_elsewhere, (queued.id, notice))
            announce.start()
            no_reads: Any = NoReads()
            return await wait_finished(no_reads, hub, queued, timeout=10)

        assert asyncio.run(scenario()) == store.get_execution(queued.id)
    assert hub.waiting == 0


def test_an_end_announced_elsewhere_before_the_wait_is_not_missed(tmp_path: Path) -> None:
    """The notice can come before the request that queued the execution starts waiting
    (its thread hop back to the event loop delayed on a busy machine): the wait must not
    sit until its first poll."""
    hub = CompletionHub()
    with make_store(tmp_path) as store:
        queued = start_execution(store, "default", "f")
        finished_copy(store, queued)
        hub.finished_elsewhere(queued.id)  # only the id, before anyone waits

        async def scenario() -> bool:
            future = hub.subscribe(queued.id)
            hub.unsubscribe(queued.id, future)
            return future.done()

        assert asyncio.run(scenario())
