"""How fast are two 10,000-step runs compared?  A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/compare_trees.py           # full run, about half a minute
    .venv/bin/python bench/compare_trees.py --quick   # smoke run (tests/bench runs it)

Each scenario builds two runs of 10,000 steps in memory (``StepRecord`` lists, as
``Store.get_steps`` returns them, with one input and an output per step) and times
``diff_trees`` (alignment and per-pair diff) plus ``comparison_document`` (the JSON-ready
document the API and the CLI serialize) -- everything ``GET /executions/{a}/compare/{b}``
does between reading the two trees and writing JSON. Reading is not included (it is the
cost of two ``GET /executions/{id}``).

Scenarios:

1. loop: a root calling ``step(i)`` 9,999 times; b has one extra iteration in the middle and
   one other argument (the case sequence alignment is for).
2. recursion: a 10,000-deep chain ``walk(n) -> walk(n-1)``; b stops one call earlier.
3. wide tree: a root with 100 children with 99 children each; b differs in one grandchild.
4. unrelated: a loop whose 9,999 calls all have other arguments in b (worst case for the
   first alignment pass, which gives up at its edit bound and lets names pair the calls).

Wall-clock milliseconds are the figure; the process CPU time beside them shows how much of
it was this process's work on a shared machine. The baseline, measured in the same run with
rounds interleaved, is ``self_times`` over both runs (the linear pass every outline pays per
tree). Figures are medians over rounds; the target (compare well under a second) is printed
as PASS/MISS and never fails the script.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import datetime

from runtree.models import (
    ExecutionRecord,
    ExecutionStatus,
    StepRecord,
    StepStatus,
    Trigger,
)
from runtree.service.compare import compare_records, comparison_document
from runtree.service.explore import self_times

TARGET_MS = 1000.0
Shape = list[tuple[int | None, str, int]]  # (parent index, name, argument) in call order


def _value(value: object) -> dict[str, object]:
    return {"preview": value, "size": 8, "format": "pickle", "truncated": False, "redacted": False}


def steps_of(shape: Shape) -> list[StepRecord]:
    depth: list[int] = []
    steps = []
    for index, (parent, name, argument) in enumerate(shape):
        depth.append(0 if parent is None else depth[parent] + 1)
        steps.append(
            StepRecord(
                execution_id="0" * 32,
                id=index + 1,
                parent_id=None if parent is None else parent + 1,
                sequence=index + 1,
                depth=depth[-1],
                name=name,
                filename="f.py",
                lineno=1,
                function="default/f",
                version=1,
                status=StepStatus.COMPLETED,
                started_at_ns=index * 1000,
                duration_ns=(len(shape) - index) * 1000,
                inputs={"n": _value(argument)},
                output=_value(argument * 2),
                error=None,
                stdout="",
                stdout_truncated=False,
                warnings=[],
                aggregates=[],
                generator=None,
            )
        )
    return steps


def execution(execution_id: str) -> ExecutionRecord:
    now = datetime.datetime.now(datetime.UTC)
    return ExecutionRecord(
        id=execution_id,
        function_id=1,
        version_id=1,
        namespace="default",
        name="f",
        version=1,
        trigger=Trigger.CLI,
        status=ExecutionStatus.SUCCEEDED,
        input={},
        output=None,
        error=None,
        versions={"f": 1},
        queued_at=now,
        started_at=now,
        finished_at=now,
        duration_ms=1,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )


def loop(n: int, arguments: Callable[[int], int], extra_at: int | None = None) -> Shape:
    shape: Shape = [(None, "main", 0)]
    for i in range(n - 1):
        if i == extra_at:
            shape.append((0, "step", -1))
        shape.append((0, "step", arguments(i)))
    return shape[:n]


def recursion(n: int) -> Shape:
    return [(None if i == 0 else i - 1, "walk", n - i) for i in range(n)]


def wide(n: int, changed: bool) -> Shape:
    shape: Shape = [(None, "main", 0)]
    for child in range(100):
        parent = len(shape)
        shape.append((0, "child", child))
        for grandchild in range(99):
            value = -1 if changed and child == 50 and grandchild == 50 else grandchild
            shape.append((parent, "leaf", value))
    return shape[:n]


def scenarios(n: int) -> dict[str, tuple[Shape, Shape]]:
    return {
        "loop": (loop(n, lambda i: i), loop(n, lambda i: 7 if i == 10 else i, n // 2)),
        "recursion": (recursion(n), recursion(n - 1)),
        "wide tree": (wide(n, False), wide(n, True)),
        "unrelated": (loop(n, lambda i: i), loop(n, lambda i: -i - 1)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small trees")
    args = parser.parse_args()
    n, rounds = (1000, 2) if args.quick else (10_000, 7)
    print(f"== Comparing two runs of {n:,} steps: median of {rounds} rounds ==")
    print(
        f"{'scenario':<12} {'compare ms':>11} {'CPU ms':>8} {'baseline ms':>12} "
        f"{'ratio':>7}  rows   verdict"
    )
    worst = 0.0
    for name, (shape_a, shape_b) in scenarios(n).items():
        a, b = steps_of(shape_a), steps_of(shape_b)
        record_a, record_b = execution("a" * 32), execution("b" * 32)
        compare_ms, compare_cpu_ms, baseline_ms = [], [], []
        rows = 0
        for _ in range(rounds):
            start = time.perf_counter()
            self_times(a)
            self_times(b)
            baseline_ms.append((time.perf_counter() - start) * 1000)
            start, cpu = time.perf_counter(), time.process_time()
            document = comparison_document(compare_records(record_a, a, record_b, b))
            compare_ms.append((time.perf_counter() - start) * 1000)
            compare_cpu_ms.append((time.process_time() - cpu) * 1000)
            rows = len(document["rows"])
        median, base = statistics.median(compare_ms), statistics.median(baseline_ms)
        cpu_median = statistics.median(compare_cpu_ms)
        worst = max(worst, median)
        verdict = "PASS" if median < TARGET_MS else "MISS"
        print(
            f"{name:<12} {median:>11.1f} {cpu_median:>8.1f} {base:>12.1f} "
            f"{median / base:>7.1f}  {rows:<6} {verdict}"
        )
    print("== Summary ==")
    print(
        f"slowest scenario: {worst:.0f} ms (target < {TARGET_MS:.0f} ms: "
        f"{'PASS' if worst < TARGET_MS else 'MISS'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
