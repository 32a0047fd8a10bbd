"""The pure conversion of an execution's steps to trace files (runtree.service.trace_files)."""

from __future__ import annotations

import datetime
import json
import random
from typing import Any

import jsonschema
import pytest

from runtree.models import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus, Trigger
from runtree.service.trace_files import TraceFormat, export_trace, trace_filename

from .checks import SPEEDSCOPE_SCHEMA, check_speedscope, complete_events

T0 = 1_700_000_000_000_000_000
MOMENT = datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC)


def execution() -> ExecutionRecord:
    return ExecutionRecord(
        id="0123456789abcdef0123456789abcdef",
        function_id=1,
        version_id=1,
        namespace="default",
        name="orders",
        version=3,
        trigger=Trigger.CLI,
        status=ExecutionStatus.SUCCEEDED,
        input={},
        output=None,
        error=None,
        versions={"orders": 3},
        queued_at=MOMENT,
        started_at=MOMENT,
        finished_at=MOMENT,
        duration_ms=1,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )


def step(
    step_id: int, parent_id: int | None, start: int, duration: int | None, **extra: Any
) -> StepRecord:
    fields: dict[str, Any] = {
        "execution_id": "0123456789abcdef0123456789abcdef",
        "id": step_id,
        "parent_id": parent_id,
        "sequence": step_id,
        "depth": 0 if parent_id is None else 1,
        "name": f"s{step_id}",
        "filename": "default/orders.py",
        "lineno": step_id,
        "function": "default/orders",
        "version": 3,
        "status": StepStatus.COMPLETED if duration is not None else StepStatus.RUNNING,
        "started_at_ns": T0 + start,
        "duration_ns": duration,
        "inputs": {},
        "output": None,
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }
    fields.update(extra)
    return StepRecord(**fields)


# A root with two children that overlap (threads), one with a child of its own; a third
# child still running; a grandchild whose clock says it started before its parent.
STEPS = [
    step(1, None, 0, 10_000, aggregates=[{"name": "f", "count": 9, "total_ns": 5, "errors": 0}]),
    step(2, 1, 1_000, 5_000),
    step(3, 1, 2_000, 6_000),
    step(4, 3, 2_500, 1_500, depth=2),
    step(5, 1, 9_000, None),
    step(6, 2, 999, 1_001, depth=2, error={"type": "KeyError", "message": "'x'"}),
]


def test_chrome_events_nest_per_thread_and_overlapping_siblings_get_their_own() -> None:
    document = export_trace(execution(), STEPS, TraceFormat.CHROME)
    json.dumps(document)  # JSON-ready
    events = {e["args"]["step_id"]: e for e in complete_events(document)}
    assert set(events) == {1, 2, 3, 4, 5, 6}
    assert events[1]["ts"] == 0 and events[1]["dur"] == 10
    assert events[2]["tid"] == events[1]["tid"] != events[3]["tid"] == events[4]["tid"]
    assert events[4]["ts"] == 2.5 and events[4]["dur"] == 1.5  # nanoseconds kept
    assert events[6]["ts"] == 1 and events[6]["dur"] == 1.001  # moved into its parent
    assert events[6]["args"]["error"] == "KeyError: 'x'"
    assert events[5]["ts"] + events[5]["dur"] == 10  # running: ends with its parent
    assert events[1]["args"]["aggregates"][0]["count"] == 9
    assert events[1]["args"] | {"aggregates": None} == {
        "function": "default/orders",
        "version": 3,
        "status": "completed",
        "step_id": 1,
        "parent_id": None,
        "location": "default/orders.py:1",
        "aggregates": None,
    }
    names = {e["tid"]: e["args"]["name"] for e in document["traceEvents"] if e["ph"] == "M"}
    assert names[0] == "default/orders v3 (01234567)"


def test_speedscope_is_schema_valid_with_nested_events_per_lane() -> None:
    document = export_trace(execution(), STEPS, TraceFormat.SPEEDSCOPE)
    check_speedscope(document)
    assert len(document["profiles"]) == 2  # step 3 overlaps step 2
    first = document["profiles"][0]
    assert (first["unit"], first["startValue"], first["endValue"]) == ("nanoseconds", 0, 10_000)
    frames = document["shared"]["frames"]
    opened = [frames[e["frame"]]["name"] for e in first["events"] if e["type"] == "O"]
    assert opened == ["s1", "s2", "s6", "s5"]
    assert frames[0] == {"name": "s1", "file": "default/orders.py", "line": 1}


def test_the_schema_check_has_teeth() -> None:
    document = export_trace(execution(), STEPS, TraceFormat.SPEEDSCOPE)
    document["profiles"][0]["events"][0]["type"] = "X"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SPEEDSCOPE_SCHEMA)
    unbalanced = export_trace(execution(), STEPS, TraceFormat.SPEEDSCOPE)
    unbalanced["profiles"][0]["events"].pop()
    with pytest.raises(AssertionError):
        check_speedscope(unbalanced)


def test_deep_trees_and_empty_executions() -> None:
    deep = [step(1, None, 0, 100_000)]
    deep += [step(i, i - 1, i, 100_000 - 2 * i, depth=i - 1) for i in range(2, 3000)]
    check_speedscope(export_trace(execution(), deep, TraceFormat.SPEEDSCOPE))
    assert (
        len(
            {
                e["tid"]
                for e in export_trace(execution(), deep, TraceFormat.CHROME)["traceEvents"]
                if e["ph"] == "X"
            }
        )
        == 1
    )
    empty = export_trace(execution(), [], TraceFormat.SPEEDSCOPE)
    check_speedscope(empty)
    assert (
        empty["profiles"] == []
        and complete_events(export_trace(execution(), [], TraceFormat.CHROME)) == []
    )


def test_json_format_and_file_names() -> None:
    document = export_trace(execution(), STEPS[:2], TraceFormat.JSON)
    assert document["format"] == "runtree-trace"
    assert document["execution"]["function"] == "default/orders"
    assert document["execution"]["started_at"].startswith("2026-12-05T00:00:00")
    assert [s["id"] for s in document["steps"]] == [1, 2]
    assert document["steps"][1]["started_at_ns"] == T0 + 1_000
    failed = step(7, None, 0, 1, error={"from_step": None, "message": "m", "type": "E"})
    error = export_trace(execution(), [failed], TraceFormat.JSON)["steps"][0]["error"]
    assert list(error.items()) == [("type", "E"), ("message", "m")]  # as the API gives it
    assert trace_filename(execution(), TraceFormat.SPEEDSCOPE) == (
        "runtree-default-orders-01234567.speedscope.json"
    )


def random_tree(rng: random.Random, size: int) -> list[StepRecord]:
    """Steps with random starts and durations: siblings overlap, children may start before
    or end after their parents, some are still running, times often coincide."""
    steps = [step(1, None, rng.randrange(50), rng.choice([None, rng.randrange(200)]))]
    for step_id in range(2, size + 1):
        parent = rng.choice(steps)
        start = parent.started_at_ns - T0 + rng.randrange(-5, 60)
        duration = rng.choice([None, 0, rng.randrange(80)])
        steps.append(step(step_id, parent.id, start, duration, depth=parent.depth + 1))
    rng.shuffle(steps)
    return steps


@pytest.mark.parametrize("seed", range(200))
def test_random_trees_nest_on_every_lane(seed: int) -> None:
    steps = random_tree(random.Random(seed), 1 + seed % 40)
    check_speedscope(export_trace(execution(), steps, TraceFormat.SPEEDSCOPE))
    events = complete_events(export_trace(execution(), steps, TraceFormat.CHROME))
    assert len(events) == len(steps)
