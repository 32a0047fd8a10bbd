"""Performance blame and flame graphs on synthetic runs: the call-path sums, the flagging
rules (minimum runs, significance, size of the change), error flags and the hunks kept."""

from __future__ import annotations

import datetime
import random

from runtree.models import ExecutionRecord, ExecutionStatus, StepStatus, StepSummary, Trigger
from runtree.service.blame import MIN_RUNS, blame, definitions, function_hunks
from runtree.service.call_paths import PathTable, Run, sum_paths
from runtree.service.flame import flame_diff, flame_graph

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def execution(number: int, version: int) -> ExecutionRecord:
    return ExecutionRecord(
        id=f"{number:032x}",
        function_id=1,
        version_id=version,
        namespace="ns",
        name="main",
        version=version,
        trigger=Trigger.API,
        status=ExecutionStatus.SUCCEEDED,
        input={},
        output=None,
        error=None,
        versions={"main": version, "helper": 1},
        queued_at=NOW,
        started_at=NOW,
        finished_at=NOW,
        duration_ms=1,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )


def step(
    step_id: int,
    parent: int | None,
    name: str,
    start: int,
    duration: int,
    *,
    function: str = "ns/main",
    failed: bool = False,
    from_step: int | None = None,
) -> StepSummary:
    error = {"type": "KeyError", "message": "x", "from_step": from_step} if failed else None
    return StepSummary(
        execution_id="e",
        id=step_id,
        parent_id=parent,
        sequence=step_id,
        depth=0,
        name=name,
        filename=None,
        lineno=None,
        function=function,
        version=1,
        status=StepStatus.FAILED if failed else StepStatus.COMPLETED,
        started_at_ns=start,
        duration_ns=duration,
        error=error,
        stdout_size=0,
        stdout_truncated=False,
        warnings=[],
        aggregates=[],
        generator=None,
    )


def run(number: int, version: int, helper_ns: int, *, fail: bool = False) -> Run:
    """main (10 µs own) -> helper (helper_ns) -> leaf (1 µs)."""
    steps = [
        step(1, None, "main", 0, 10_000 + helper_ns + 1000, failed=fail, from_step=2),
        step(2, 1, "helper", 5_000, helper_ns + 1000, function="ns/helper", failed=fail),
        step(3, 2, "leaf", 5_000 + helper_ns, 1000, function="ns/helper"),
    ]
    return Run(execution=execution(number, version), steps=steps)


def noisy(base: int, seed: int, count: int, version: int, start: int = 0) -> list[Run]:
    rng = random.Random(seed)
    return [run(start + i, version, int(base * rng.uniform(0.8, 1.25))) for i in range(count)]


def test_call_paths_collapse_direct_recursion_and_sum_per_run() -> None:
    steps = [
        step(1, None, "fib", 0, 100),
        step(2, 1, "fib", 10, 50),
        step(3, 2, "fib", 20, 10),
        step(4, 1, "other", 70, 20),
    ]
    table = PathTable()
    sums = sum_paths(table, Run(execution(1, 1), steps))
    fib, other = table.find(["fib"]), table.find(["fib", "other"])
    assert table.find(["fib", "fib"]) is None
    assert fib is not None and other is not None
    assert sums[fib].calls == 3 and sums[fib].total_ns == 100  # the outermost call only
    assert sums[fib].self_ns == 100 - 20  # everything but `other`
    assert sums[other].self_ns == 20


def test_a_slower_helper_is_flagged_and_its_caller_is_not() -> None:
    old = noisy(2_000, 1, 12, version=1)
    new = noisy(5_000_000, 2, 12, version=2, start=100)
    report = blame(old, new)
    flagged = [p for p in report.paths if p.verdict]
    assert [p.path for p in flagged] == [["main", "helper"]]
    assert flagged[0].verdict == "slower" and flagged[0].ratio is not None
    assert flagged[0].ratio > 1000 and flagged[0].p_value is not None
    main = next(p for p in report.paths if p.path == ["main"])
    assert main.verdict is None and main.tested


def test_too_few_runs_are_not_tested() -> None:
    old = noisy(2_000, 1, MIN_RUNS - 1, version=1)
    new = noisy(5_000_000, 2, 12, version=2, start=100)
    report = blame(old, new)
    assert not any(p.tested or p.verdict for p in report.paths)
    old = noisy(2_000, 1, MIN_RUNS, version=1)
    assert any(p.verdict == "slower" for p in blame(old, new).paths)


def test_noise_and_tiny_changes_are_not_flagged() -> None:
    for seed in range(20):
        old = noisy(50_000, seed, 20, version=1)
        new = noisy(50_000, seed + 1000, 20, version=2, start=100)
        assert not [p.path for p in blame(old, new).paths if p.verdict], seed
    # Significant and 3x, but only 40 µs: below the absolute floor.
    old = [run(i, 1, 20_000) for i in range(20)]
    new = [run(100 + i, 2, 60_000) for i in range(20)]
    assert not [p.path for p in blame(old, new).paths if p.verdict]


def test_new_errors_are_flagged_on_the_path_that_raised() -> None:
    old = [run(i, 1, 2_000) for i in range(10)]
    new = [run(100 + i, 2, 2_000, fail=i < 3) for i in range(10)]
    report = blame(old, new)
    errors = {tuple(p.path): p.errors for p in report.paths if p.errors}
    assert list(errors) == [("main", "helper")]  # main only passed the exception on
    assert errors[("main", "helper")].message == "helper now fails in 30% of runs, was 0%"
    # Failing about as often as before is not flagged.
    old = [run(i, 1, 2_000, fail=i < 3) for i in range(10)]
    assert not [p for p in blame(old, new).paths if p.errors]


SOURCE_V1 = """def main():
    return helper()


def helper():
    x = 1
    return x


def filler():
    a = 1
    b = 2
    c = 3
    d = 4
    return a + b + c + d


def unrelated():
    return 0
"""


def test_hunks_are_kept_where_they_touch_a_function_on_the_path() -> None:
    v2 = SOURCE_V1.replace("    x = 1\n", "    x = 1\n    time.sleep(1)\n").replace(
        "    return 0\n", "    return 1\n"
    )
    hunks = function_hunks("ns/helper", 1, 2, SOURCE_V1, v2, ["helper"])
    assert len(hunks) == 1 and hunks[0].touches == ["helper"]
    assert "+    time.sleep(1)" in hunks[0].lines
    assert len(function_hunks("ns/helper", 1, 2, SOURCE_V1, v2, ["nothing_here"])) == 2
    assert definitions("def f():\n    def g():\n        pass\n") == {
        "f": (1, 3),
        "f.<locals>.g": (2, 3),
    }


def test_flagged_paths_get_the_hunks_of_the_versions_each_side_used() -> None:
    old = noisy(2_000, 1, 10, version=1)
    new = noisy(5_000_000, 2, 10, version=2, start=100)
    for r in new:
        r.execution.versions["helper"] = 2
    v2 = SOURCE_V1.replace("    x = 1\n", "    x = 1\n    time.sleep(1)\n")
    report = blame(
        old,
        new,
        {
            ("ns/helper", 1): SOURCE_V1,
            ("ns/helper", 2): v2,
            ("ns/main", 1): SOURCE_V1,
            ("ns/main", 2): SOURCE_V1,
        },
    )
    (flagged,) = [p for p in report.paths if p.verdict]
    assert [(h.function, h.from_version, h.to_version) for h in flagged.hunks] == [
        ("ns/helper", 1, 2)
    ]


def test_flame_graph_values_nest_and_the_diff_shows_the_change() -> None:
    old = noisy(2_000, 1, 4, version=1)
    new = noisy(5_000_000, 2, 4, version=2, start=100)
    graph = flame_graph(new)
    by_name = {n["name"]: n for n in graph["nodes"]}
    assert [n["name"] for n in graph["nodes"]] == ["main", "helper", "leaf"]
    assert by_name["main"]["value_ns"] == sum(n["self_ns"] for n in graph["nodes"])
    assert by_name["helper"]["parent"] == by_name["main"]["id"]
    assert by_name["leaf"]["calls"] == 4 and by_name["leaf"]["runs"] == 4
    diff = flame_diff(old, new)
    changes = {n["name"]: n["change"] for n in diff["nodes"]}
    assert changes["helper"] > 0.99 and abs(changes["leaf"]) < 0.01
    only_new = flame_diff([], new)
    assert all(n["change"] is None for n in only_new["nodes"])
