"""Executions: queue, claim, finish, cancel, recover, list."""

from __future__ import annotations

import threading
import uuid

import pytest

from runtree.models import ExecutionRecord, ExecutionStatus, StepStatus, Trigger
from runtree.store import InvalidDataError, NotFoundError, Store
from runtree.store.ids import new_execution_id

from .store_helpers import deploy, make_step


def enqueue(store: Store, **kw: object) -> ExecutionRecord:
    version = kw.pop("version", None) or deploy(store)
    return store.enqueue_execution(
        version=version,  # type: ignore[arg-type]
        trigger=kw.pop("trigger", "api"),  # type: ignore[arg-type]
        input=kw.pop("input", {"n": 1}),
        versions=kw.pop("versions", {"orders": 1}),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_enqueue_records_a_queued_execution(store: Store) -> None:
    version = deploy(store)
    execution = store.enqueue_execution(
        version=version, trigger="cli", input={"n": 42, "s": "é"}, versions={"orders": 1}
    )
    assert execution.status == ExecutionStatus.QUEUED == "queued"
    assert execution.trigger == Trigger.CLI
    assert (execution.namespace, execution.name, execution.version) == ("default", "orders", 1)
    assert (execution.function_id, execution.version_id) == (version.function_id, version.id)
    assert execution.input == {"n": 42, "s": "é"}
    assert execution.versions == {"orders": 1}
    assert execution.queued_at.tzinfo is not None
    assert execution.started_at is execution.finished_at is execution.duration_ms is None
    assert not execution.cancel_requested and execution.worker_id is None
    assert uuid.UUID(hex=execution.id).version == 7
    assert store.get_execution(execution.id) == execution
    assert store.get_execution("0" * 32) is None


def test_enqueue_validates(store: Store) -> None:
    version = deploy(store)
    with pytest.raises(InvalidDataError, match="trigger"):
        store.enqueue_execution(version=version, trigger="bogus", input={}, versions={})
    with pytest.raises(InvalidDataError, match="input"):
        store.enqueue_execution(
            version=version, trigger="api", input={"x": float("nan")}, versions={}
        )
    with pytest.raises(NotFoundError):
        store.enqueue_execution(
            version=version, trigger="replay", input={}, versions={}, replay_of="f" * 32
        )
    assert store.list_executions()[0] == []


def test_replay_of_links_executions(store: Store) -> None:
    original = enqueue(store)
    replay = enqueue(store, trigger="replay", replay_of=original.id)
    assert replay.replay_of == original.id and replay.trigger == Trigger.REPLAY


def test_claim_next_takes_the_oldest_queued(store: Store) -> None:
    first = enqueue(store)
    second = enqueue(store)
    claimed = store.claim_next_execution("worker-1")
    assert claimed is not None and claimed.id == first.id
    assert claimed.status == ExecutionStatus.RUNNING
    assert claimed.worker_id == "worker-1"
    assert claimed.started_at is not None and claimed.started_at >= claimed.queued_at
    again = store.claim_next_execution("worker-2")
    assert again is not None and again.id == second.id
    assert store.claim_next_execution("worker-3") is None


def test_claim_a_specific_execution(store: Store) -> None:
    first = enqueue(store)
    second = enqueue(store)
    claimed = store.claim_execution(second.id, "w")
    assert claimed is not None and claimed.id == second.id and claimed.status == "running"
    assert store.claim_execution(second.id, "w2") is None  # already running
    cancelled = store.request_cancel(first.id)
    assert store.claim_execution(cancelled.id, "w") is None
    with pytest.raises(NotFoundError):
        store.claim_execution("0" * 32, "w")


@pytest.mark.parametrize("specific", [False, True], ids=["next", "by_id"])
def test_concurrent_claims_never_double_claim(store: Store, specific: bool) -> None:
    version = deploy(store)
    ids = [enqueue(store, version=version).id for _ in range(40)]
    claims: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        mine: list[str] = []
        try:
            barrier.wait()
            if specific:  # every worker tries every id: each must still go to one only
                for execution_id in ids:
                    claimed = store.claim_execution(execution_id, name)
                    if claimed is not None:
                        mine.append(claimed.id)
            else:
                while (claimed := store.claim_next_execution(name)) is not None:
                    assert claimed.worker_id == name
                    mine.append(claimed.id)
        except BaseException as exc:
            errors.append(exc)
        claims[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    all_claimed = [execution_id for mine in claims.values() for execution_id in mine]
    assert sorted(all_claimed) == sorted(ids)  # each exactly once
    for name, mine in claims.items():
        for execution_id in mine:
            execution = store.get_execution(execution_id)
            assert execution is not None
            assert execution.status == "running" and execution.worker_id == name


def test_finish_sets_times_and_interrupts_running_steps(store: Store) -> None:
    execution = enqueue(store)
    store.claim_execution(execution.id, "w")
    store.save_steps(
        execution.id,
        [
            make_step(1, status="running", started_at_ns=1_000),
            make_step(2, parent_id=1, status="completed"),
            make_step(3, parent_id=1, status="running", started_at_ns=2_000),
        ],
    )
    finished = store.finish_execution(
        execution.id, status="failed", error={"type": "ValueError", "message": "bad"}
    )
    assert finished.status == ExecutionStatus.FAILED
    assert finished.error == {"type": "ValueError", "message": "bad"}
    assert finished.output is None
    assert finished.finished_at is not None and finished.started_at is not None
    assert finished.duration_ms is not None and finished.duration_ms >= 0
    assert finished.finished
    steps = {step.id: step for step in store.get_steps(execution.id)}
    assert steps[1].status == steps[3].status == StepStatus.INTERRUPTED
    assert steps[2].status == StepStatus.COMPLETED
    assert steps[1].duration_ns is not None and steps[1].duration_ns > 0  # up to the finish
    assert steps[2].duration_ns == 2_000  # untouched


def test_finish_only_once(store: Store) -> None:
    execution = enqueue(store)
    store.claim_execution(execution.id, "w")
    first = store.finish_execution(execution.id, status="succeeded", output={"total": 3})
    assert first.output == {"total": 3}
    second = store.finish_execution(execution.id, status="failed", error={"type": "X"})
    assert second == first
    assert store.get_execution(execution.id) == first


def test_finish_validates(store: Store) -> None:
    execution = enqueue(store)
    with pytest.raises(InvalidDataError):
        store.finish_execution(execution.id, status="running")
    with pytest.raises(InvalidDataError):
        store.finish_execution(execution.id, status="nope")
    with pytest.raises(NotFoundError):
        store.finish_execution("0" * 32, status="succeeded")


def test_finish_a_never_started_execution_has_no_duration(store: Store) -> None:
    execution = enqueue(store)
    finished = store.finish_execution(execution.id, status="timed_out")
    assert finished.status == "timed_out" and finished.duration_ms is None
    assert finished.finished_at is not None


def test_cancel_a_queued_execution_at_once(store: Store) -> None:
    execution = enqueue(store)
    cancelled = store.request_cancel(execution.id)
    assert cancelled.status == ExecutionStatus.CANCELLED
    assert cancelled.cancel_requested
    assert cancelled.finished_at is not None
    assert cancelled.error is not None and cancelled.error["type"] == "Cancelled"
    assert store.claim_next_execution("w") is None


def test_cancel_a_running_execution_sets_the_flag(store: Store) -> None:
    execution = enqueue(store)
    store.claim_execution(execution.id, "w")
    flagged = store.request_cancel(execution.id)
    assert flagged.status == ExecutionStatus.RUNNING and flagged.cancel_requested
    assert flagged.finished_at is None
    done = store.finish_execution(execution.id, status="cancelled")
    assert done.status == "cancelled" and done.cancel_requested


def test_cancel_a_finished_execution_changes_nothing(store: Store) -> None:
    execution = enqueue(store)
    store.claim_execution(execution.id, "w")
    finished = store.finish_execution(execution.id, status="succeeded", output=1)
    assert store.request_cancel(execution.id) == finished
    with pytest.raises(NotFoundError):
        store.request_cancel("0" * 32)


def test_recover_crashes_running_and_keeps_queued(store: Store) -> None:
    version = deploy(store)
    running = [enqueue(store, version=version) for _ in range(2)]
    queued = enqueue(store, version=version)
    done = enqueue(store, version=version)
    for execution in running:
        store.claim_execution(execution.id, "w")
    store.claim_execution(done.id, "w")
    store.finish_execution(done.id, status="succeeded")
    store.save_steps(running[0].id, [make_step(1, status="running"), make_step(2)])

    report = store.recover()
    assert (report.crashed, report.interrupted_steps, report.queued) == (2, 1, 1)
    for execution in running:
        crashed = store.get_execution(execution.id)
        assert crashed is not None and crashed.status == ExecutionStatus.CRASHED
        assert crashed.finished_at is not None
        assert "server stopped" in crashed.error["message"]
    assert [s.status for s in store.get_steps(running[0].id)] == ["interrupted", "completed"]
    still_queued = store.get_execution(queued.id)
    assert still_queued is not None and still_queued.status == ExecutionStatus.QUEUED
    finished = store.get_execution(done.id)
    assert finished is not None and finished.status == ExecutionStatus.SUCCEEDED
    again = store.recover()
    assert (again.crashed, again.interrupted_steps, again.queued) == (0, 0, 1)


def test_recover_only_some_workers(store: Store) -> None:
    version = deploy(store)
    mine, theirs = enqueue(store, version=version), enqueue(store, version=version)
    store.claim_execution(mine.id, "dead-worker")
    store.claim_execution(theirs.id, "live-worker")
    report = store.recover(worker_ids=["dead-worker"])
    assert report.crashed == 1
    assert store.get_execution(mine.id).status == "crashed"  # type: ignore[union-attr]
    assert store.get_execution(theirs.id).status == "running"  # type: ignore[union-attr]
    assert store.recover(worker_ids=[]).crashed == 0


def test_list_is_newest_first_with_cursor_pagination(store: Store) -> None:
    version = deploy(store)
    ids = [enqueue(store, version=version).id for _ in range(7)]
    assert ids == sorted(ids)  # ids sort in creation order
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page, cursor = store.list_executions(limit=3, cursor=cursor)
        pages += 1
        seen.extend(e.id for e in page)
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(ids))
    page, cursor = store.list_executions(limit=7)
    assert len(page) == 7 and cursor is None


def test_list_filters(store: Store) -> None:
    a = deploy(store, "a")
    b = deploy(store, "b")
    other = deploy(store, "a", namespace="other")
    a_cli = enqueue(store, version=a, trigger="cli")
    a_api = enqueue(store, version=a, trigger="api")
    b_api = enqueue(store, version=b, trigger="api")
    o_sched = enqueue(store, version=other, trigger="schedule")
    store.claim_execution(a_api.id, "w")
    store.finish_execution(a_api.id, status="succeeded")

    def ids(**kw: object) -> list[str]:
        return [e.id for e in store.list_executions(**kw)[0]]  # type: ignore[arg-type]

    assert ids() == [o_sched.id, b_api.id, a_api.id, a_cli.id]
    assert ids(namespace="default", name="a") == [a_api.id, a_cli.id]
    assert ids(name="a") == [o_sched.id, a_api.id, a_cli.id]
    assert ids(namespace="other") == [o_sched.id]
    assert ids(status="succeeded") == [a_api.id]
    assert ids(status="queued", namespace="default") == [b_api.id, a_cli.id]
    assert ids(trigger="api") == [b_api.id, a_api.id]
    assert ids(trigger="webhook") == []
    page, cursor = store.list_executions(namespace="default", limit=1)
    assert [e.id for e in page] == [b_api.id]
    page, cursor = store.list_executions(namespace="default", limit=1, cursor=cursor)
    assert [e.id for e in page] == [a_api.id]


@pytest.mark.parametrize(
    "kw",
    [{"limit": 0}, {"limit": 1001}, {"status": "nope"}, {"trigger": "nope"}, {"cursor": "x;--"}],
)
def test_list_validates(store: Store, kw: dict[str, object]) -> None:
    with pytest.raises(InvalidDataError):
        store.list_executions(**kw)  # type: ignore[arg-type]


def test_ids_are_unique_and_increasing() -> None:
    ids = [new_execution_id() for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and uuid.UUID(hex=i).version == 7 for i in ids[:10])
