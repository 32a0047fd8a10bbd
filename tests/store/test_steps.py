"""Steps: the batch upsert, payload round-trips, reassembly into the tracking dict shape."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text

import runtree
from runtree.models import ExecutionRecord, StepStatus
from runtree.store import InvalidDataError, NotFoundError, Store
from runtree.tracking.value_digest import prehash

from .store_helpers import captured, deploy, make_step

PROGRAM = """
def helper(x, password=None):
    print("hi", x)
    return {"x": x, "items": list(range(3))}

def numbers(n):
    for i in range(n):
        yield i
    return "done"

def boom():
    raise ValueError("bad")

def main(n):
    helper(n, password="s3cret")
    list(numbers(2))
    try:
        boom()
    except ValueError:
        pass
    return n * 2
"""


@pytest.fixture
def execution(store: Store) -> ExecutionRecord:
    version = deploy(store)
    execution = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
    claimed = store.claim_execution(execution.id, "w")
    assert claimed is not None
    return claimed


def recorded_steps() -> list[dict[str, Any]]:
    code = runtree.instrument(PROGRAM, "program.py")
    namespace: dict[str, Any] = {"__name__": "program"}
    exec(code, namespace)
    with runtree.record() as recording:
        namespace["main"](3)
    return [step.to_dict(include_blobs=True) for step in recording.steps]


def test_a_real_recording_round_trips(store: Store, execution: ExecutionRecord) -> None:
    original = recorded_steps()
    assert store.save_steps(execution.id, original) == len(original)
    stored = store.get_steps(execution.id, include_blobs=True)
    assert [step.id for step in stored] == [step["id"] for step in original]
    # The redacted password's prehashes go to the value index, never into the step.
    hidden = original[1]["inputs"]["password"].pop("hidden")
    assert [entry["key"] for entry in hidden] == ["password"]
    for step, expected in zip(stored, original, strict=True):
        data = step.to_dict()
        assert data.pop("function") is None
        assert data == expected
        assert list(data["inputs"]) == list(expected["inputs"])  # parameter order kept
    helper = stored[1]
    assert helper.stdout == "hi 3\n"
    assert helper.inputs["password"]["redacted"] and "blob" not in helper.inputs["password"]
    generator = stored[2].generator
    assert generator is not None and generator["yielded"] == 2
    assert generator["first"]["preview"] == 0
    assert stored[3].status == StepStatus.FAILED and stored[3].error["type"] == "ValueError"
    assert stored[0].to_dict()["generator"] is None


def test_blobs_only_when_asked(store: Store, execution: ExecutionRecord) -> None:
    store.save_steps(execution.id, recorded_steps())
    for step in store.get_steps(execution.id):
        for value in [*step.inputs.values(), step.output]:
            assert value is None or "blob" not in value
        if step.generator is not None:
            assert "blob" not in step.generator["first"]


def test_payload_blobs_round_trip_as_bytes(store: Store, execution: ExecutionRecord) -> None:
    blob = bytes(range(256)) * 100  # every byte value, including NUL
    output = captured({"big": True}, blob, sha256="ab" * 32, warning="a warning")
    step = make_step(1, inputs={"a": captured(1, b"\x00\x01"), "b": captured("x")}, output=output)
    store.save_steps(execution.id, [step])
    assert store.get_step_blob(execution.id, 1, "output") == blob
    assert store.get_step_blob(execution.id, 1, "input", "a") == b"\x00\x01"
    assert store.get_step_blob(execution.id, 1, "input", "b") is None  # no blob
    assert store.get_step_blob(execution.id, 1, "input", "missing") is None
    assert store.get_step_blob(execution.id, 99, "output") is None
    assert isinstance(store.get_step_blob(execution.id, 1, "output"), bytes)
    with pytest.raises(InvalidDataError):
        store.get_step_blob(execution.id, 1, "pickle")
    stored = store.get_step(execution.id, 1, include_blobs=True)
    assert stored is not None and stored.output == output
    without = store.get_step(execution.id, 1)
    assert without is not None and "blob" not in (without.output or {})
    assert without.output is not None and without.output["sha256"] == "ab" * 32
    assert store.get_step(execution.id, 2) is None


def test_later_version_of_a_step_wins_and_replaces_payloads(
    store: Store, execution: ExecutionRecord
) -> None:
    running = make_step(
        1,
        status="running",
        inputs={"a": captured(1, b"A"), "old": captured(0, b"O")},
        output=None,
    )
    store.save_steps(execution.id, [running, make_step(2, parent_id=1, status="running")])
    first = store.get_steps(execution.id, include_blobs=True)
    assert [s.status for s in first] == ["running", "running"]
    assert set(first[0].inputs) == {"a", "old"}

    finished = make_step(
        1,
        status="completed",
        inputs={"a": captured(2, b"B")},
        output=captured("result", b"R"),
        duration_ns=5_000,
        stdout="printed\n",
    )
    assert store.save_steps(execution.id, [finished]) == 1
    steps = store.get_steps(execution.id, include_blobs=True)
    assert len(steps) == 2
    step = steps[0]
    assert step.status == StepStatus.COMPLETED and step.duration_ns == 5_000
    assert step.stdout == "printed\n"
    assert step.inputs == {"a": captured(2, b"B")}  # "old" is gone
    assert step.output == captured("result", b"R")
    assert store.get_step_blob(execution.id, 1, "input", "old") is None
    assert steps[1].status == StepStatus.RUNNING


def test_a_running_step_never_replaces_a_finished_one(
    store: Store, execution: ExecutionRecord
) -> None:
    done = make_step(1, status="completed", output=captured(1))
    stale = make_step(1, status="running")
    store.save_steps(execution.id, [done])
    assert store.save_steps(execution.id, [stale]) == 0
    # ... also within one batch, in either order
    store.save_steps(
        execution.id, [make_step(2, status="completed"), make_step(2, status="running")]
    )
    store.save_steps(execution.id, [make_step(3, status="running"), make_step(3, status="failed")])
    statuses = [s.status for s in store.get_steps(execution.id)]
    assert statuses == ["completed", "completed", "failed"]
    stored = store.get_step(execution.id, 1)
    assert stored is not None and stored.output == captured(1)


def test_steps_arriving_running_after_the_finish_are_interrupted(
    store: Store, execution: ExecutionRecord
) -> None:
    store.finish_execution(execution.id, status="timed_out")
    store.save_steps(execution.id, [make_step(1, status="running"), make_step(2)])
    assert [s.status for s in store.get_steps(execution.id)] == ["interrupted", "completed"]
    # the real outcome of an interrupted step may still arrive later, and wins
    store.save_steps(execution.id, [make_step(1, status="completed")])
    assert store.get_steps(execution.id)[0].status == "completed"


def test_get_steps_is_in_sequence_order(store: Store, execution: ExecutionRecord) -> None:
    steps = [make_step(i, parent_id=None if i == 1 else 1) for i in (3, 1, 2)]
    store.save_steps(execution.id, steps)
    assert [s.sequence for s in store.get_steps(execution.id)] == [1, 2, 3]
    assert [s.parent_id for s in store.get_steps(execution.id)] == [None, 1, 1]
    assert store.get_steps("f" * 32) == []


def test_big_batches_are_fast(store: Store, execution: ExecutionRecord) -> None:
    batch = [
        make_step(
            i,
            parent_id=None if i == 1 else 1,
            status="running",
            inputs={"a": captured(i, b"x" * 100), "b": captured([i] * 10, b"y" * 100)},
        )
        for i in range(1, 1001)
    ]
    start = time.perf_counter()
    store.save_steps(execution.id, batch)
    finished = [{**s, "status": "completed", "output": captured(s["id"], b"z")} for s in batch]
    store.save_steps(execution.id, finished)
    elapsed = time.perf_counter() - start
    steps = store.get_steps(execution.id)
    assert len(steps) == 1000
    assert all(s.status == "completed" and s.output is not None for s in steps)
    assert elapsed < 10, f"saving 2 x 1000 steps took {elapsed:.1f}s"


def test_version_and_function_of_a_step(store: Store, execution: ExecutionRecord) -> None:
    store.save_steps(
        execution.id,
        [
            make_step(1, version=3),
            make_step(2, version=["billing/tax", 7]),
            make_step(3, function="billing/tax", version=2),
        ],
    )
    steps = store.get_steps(execution.id)
    assert [(s.function, s.version) for s in steps] == [
        (None, 3),
        ("billing/tax", 7),
        ("billing/tax", 2),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "weird"},
        {"id": "1"},
        {"id": None},
        {"started_at_ns": None},
        {"name": None},
        {"inputs": {"a": "not a captured dict"}},
        {"inputs": {"a": {"preview": 1, "size": 1, "format": "pickle", "blob": "str"}}},
        {"output": {"preview": float("nan"), "size": 0, "format": "none"}},
        {"version": "v3"},
        {"warnings": [object()]},
    ],
)
def test_malformed_steps_are_refused_and_nothing_is_written(
    store: Store, execution: ExecutionRecord, bad: dict[str, Any]
) -> None:
    with pytest.raises(InvalidDataError):
        store.save_steps(execution.id, [make_step(1), make_step(2, **bad)])
    assert store.get_steps(execution.id) == []


def test_nul_characters_in_printed_output(store: Store, execution: ExecutionRecord) -> None:
    error = {"type": "ValueError", "message": "nul \x00 here", "traceback": []}
    output = captured("x\x00", warning="w\x00")
    store.save_steps(
        execution.id, [make_step(1, stdout="a\x00b", name="f\x00", error=error, output=output)]
    )
    step = store.get_steps(execution.id)[0]
    assert step.stdout == "a\ufffdb" and step.name == "f\ufffd"
    assert step.error == error  # JSON escapes NUL: kept exactly
    assert step.output is not None and step.output["preview"] == "x\x00"
    assert step.output["warning"] == "w\ufffd"


def test_unknown_execution(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.save_steps("f" * 32, [make_step(1)])


def test_empty_batch(store: Store, execution: ExecutionRecord) -> None:
    assert store.save_steps(execution.id, []) == 0


def test_steps_of_different_executions_are_separate(
    store: Store, execution: ExecutionRecord
) -> None:
    other = store.enqueue_execution(version=deploy(store), trigger="api", input={}, versions={})
    store.save_steps(execution.id, [make_step(1, name="mine")])
    store.save_steps(other.id, [make_step(1, name="theirs")])
    assert [s.name for s in store.get_steps(execution.id)] == ["mine"]
    assert [s.name for s in store.get_steps(other.id)] == ["theirs"]


def test_unknown_step_keys_are_kept(store: Store, execution: ExecutionRecord) -> None:
    step = make_step(1, thread="worker-2", future={"a": [1, 2]})
    store.save_steps(execution.id, [step])
    stored = store.get_steps(execution.id, include_blobs=True)[0]
    assert stored.extra == {"thread": "worker-2", "future": {"a": [1, 2]}}
    data = stored.to_dict()
    assert data.pop("function") is None
    assert data == step
    with pytest.raises(InvalidDataError, match="extra"):
        store.save_steps(execution.id, [make_step(2, future=object())])


def test_the_value_index_follows_each_step_s_latest_version(
    store: Store, execution: ExecutionRecord
) -> None:
    def found(value: str) -> list[tuple[int, str, str]]:
        page, _ = store.find_value(value)
        return [(s["step_id"], s["kind"], s["key"]) for _, steps in page for s in steps]

    running = make_step(1, status="running", inputs={"code": captured("Alpha-1")})
    store.save_steps(execution.id, [running])
    assert found("alpha-1") == [(1, "input", "code")]
    # The step ends (another input preview, an output): its rows are replaced, not added to.
    done = make_step(1, inputs={"code": captured("Beta-2")}, output=captured({"id": "Beta-2"}))
    store.save_steps(execution.id, [done])
    assert found("alpha-1") == []
    assert found("beta-2") == [(1, "input", "code"), (1, "output", "id")]
    # A later batch of new steps leaves the earlier steps' rows alone; one value, one row.
    store.save_steps(
        execution.id, [make_step(2, parent_id=1, inputs={"a": captured(["Beta-2"] * 3)})]
    )
    assert found("beta-2") == [(1, "input", "code"), (1, "output", "id"), (2, "input", "a")]
    # Prehashes the worker sent for a redacted value (runtree.tracking.value_digest).
    hidden = [{"key": "password", "digest": prehash("s", "hunter2").hex()}]
    secret = captured("[redacted]", redacted=True, hidden=hidden)
    store.save_steps(execution.id, [make_step(3, parent_id=1, inputs={"password": secret})])
    assert found(" HUNTER2 ") == [(3, "input", "password")]
    with pytest.raises(InvalidDataError, match="hidden digest"):
        bad = captured("[redacted]", redacted=True, hidden=[{"key": "p", "digest": "zz"}])
        store.save_steps(execution.id, [make_step(4, inputs={"p": bad})])
    assert (
        store.get_step(execution.id, 3, include_blobs=True).inputs["password"].get("hidden") is None
    )


def test_a_handed_back_execution_runs_again_from_nothing(
    store: Store, execution: ExecutionRecord
) -> None:
    """Requeueing (a worker's SIGTERM hand-back, a retry) removes the attempt's steps with
    their value-index rows and its recording: the next attempt stores the same step ids again
    (before, the index rows it left made that a unique-key violation and the run crashed)."""

    def found(value: str) -> list[tuple[str, int]]:
        page, _ = store.find_value(value)
        return [(e.id, s["step_id"]) for e, steps in page for s in steps]

    store.save_steps(execution.id, [make_step(1, inputs={"code": captured("Alpha-1")})])
    store.save_world(execution.id, recording={"interactions": [], "partial": True})
    assert found("alpha-1") == [(execution.id, 1)]
    assert store.requeue_execution(execution.id, "w")
    assert store.get_steps(execution.id) == [] and found("alpha-1") == []
    assert store.get_world(execution.id) is None
    assert store.claim_execution(execution.id, "w2") is not None
    store.save_steps(execution.id, [make_step(1, inputs={"code": captured("Alpha-1")})])
    assert found("alpha-1") == [(execution.id, 1)]


def test_the_world_is_stored_with_the_end(store: Store, execution: ExecutionRecord) -> None:
    """The recording comes in the finishing transaction (one write fewer per run): the end
    and the recording are there together."""
    recording = {"interactions": [], "clock": [1.5], "random": []}
    record = store.finish_execution(
        execution.id,
        status="succeeded",
        output=1,
        steps=[make_step(1)],
        world={"recording": recording},
    )
    assert record.status == "succeeded"
    world = store.get_world(execution.id)
    assert world is not None and world.recording == recording


def test_a_world_that_cannot_be_stored_loses_itself_not_the_end(
    store: Store, execution: ExecutionRecord
) -> None:
    record = store.finish_execution(
        execution.id,
        status="succeeded",
        output=1,
        steps=[make_step(1)],
        world={"recording": {"clock": [float("nan")]}},  # not JSON
    )
    assert record.status == "succeeded" and record.output == 1
    assert [s.id for s in store.get_steps(execution.id)] == [1]
    assert store.get_world(execution.id) is None


def test_a_recording_the_database_refuses_loses_itself_not_the_end(
    store: Store, execution: ExecutionRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording is stored without a savepoint around it: when its statement fails (on
    PostgreSQL that aborts the transaction), the end and its steps are written again without
    it."""
    from runtree.store import worlds

    monkeypatch.setattr(
        worlds,
        "_recording_upsert",
        lambda session: text("INSERT INTO no_such_table (x) VALUES (:execution_id)"),
    )
    record = store.finish_execution(
        execution.id,
        status="succeeded",
        output=1,
        steps=[make_step(1)],
        world={"recording": {"clock": [1.5]}},
    )
    assert record.status == "succeeded" and record.output == 1
    stored = store.get_execution(execution.id)
    assert stored is not None and stored.status == "succeeded"
    assert [s.id for s in store.get_steps(execution.id)] == [1]
    assert store.get_world(execution.id) is None


def test_a_recording_keeps_the_replay_plan_of_its_row(store: Store) -> None:
    """A deterministic replay's recording goes into its planned row, which keeps its mode
    and source; its report is stored beside it."""
    from runtree.models import Trigger
    from runtree.store.triggers import RunSpec

    version = deploy(store)
    source = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
    replay = store.enqueue_spec(
        RunSpec(
            version=version,
            input={},
            versions={},
            trigger=Trigger.REPLAY,
            replay_of=source.id,
            replay_world=source.id,
        )
    )
    assert store.claim_execution(replay.id, "w") is not None
    store.finish_execution(replay.id, status="succeeded", world={"recording": {"clock": [2.5]}})
    world = store.get_world(replay.id)
    assert world is not None and (world.mode, world.replay_source) == ("replay", source.id)
    assert world.recording == {"clock": [2.5]} and world.report is None
    store.save_world(replay.id, report={"http": {"played": 0}})
    world = store.get_world(replay.id)
    assert world is not None and world.mode == "replay" and world.recording == {"clock": [2.5]}
    assert world.report == {"http": {"played": 0}}
