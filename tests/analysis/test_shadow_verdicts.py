"""The verdict on one shadow run against its recorded run (pure: no store, no workers)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from runtree.models import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus, Trigger
from runtree.service.shadow_verdicts import (
    SLOWER_MIN_MS,
    SLOWER_RATIO,
    compare_run,
    is_slower,
)

from .trees import make_step

NOW = datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC)


def run(
    status: ExecutionStatus = ExecutionStatus.SUCCEEDED,
    output: Any = {"total": 108.9},
    error: dict[str, Any] | None = None,
    duration_ms: int | None = 5,
) -> ExecutionRecord:
    return ExecutionRecord(
        id="a" * 32,
        function_id=1,
        version_id=1,
        namespace="default",
        name="orders",
        version=1,
        trigger=Trigger.CLI,
        status=status,
        input={"customer_id": 42},
        output=output,
        error=error,
        versions={"orders": 1},
        queued_at=NOW,
        started_at=NOW,
        finished_at=NOW,
        duration_ms=duration_ms,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )


def tree(helper_version: int = 1, helper_input: int = 42, root_ms: float = 2.0) -> list[StepRecord]:
    return [
        make_step(1, None, 0, "orders", output=1, duration=int(root_ms * 1e6), function="d/orders"),
        make_step(
            2, 1, 1, "helper", inputs={"x": helper_input}, version=helper_version, function="d/h"
        ),
    ]


KEY_ERROR = {"type": "KeyError", "message": "'no customer with id 3'", "traceback": [{"lineno": 9}]}


def verdict(recorded: ExecutionRecord, shadow: ExecutionRecord, **trees: Any) -> str:
    return compare_run(
        recorded, trees.get("before", tree()), shadow, trees.get("after", tree(helper_version=2))
    ).verdict


def test_the_same_result_with_the_shadowed_function_in_another_version_is_same() -> None:
    comparison = compare_run(run(), tree(), run(), tree(helper_version=2))
    assert comparison.verdict == "same"
    assert comparison.tree is not None and not comparison.tree.any


def test_outcomes() -> None:
    failed = run(ExecutionStatus.FAILED, output=None, error=KEY_ERROR)
    assert verdict(run(), run(output={"total": 100.0})) == "different_output"
    assert verdict(run(), failed) == "new_error"
    assert verdict(run(), run(ExecutionStatus.TIMED_OUT, output=None)) == "new_error"
    assert verdict(failed, run()) == "fixed_error"
    other = {**KEY_ERROR, "message": "'no customer with id 4'"}
    assert verdict(failed, dataclasses.replace(failed, error=other)) == "different_error"
    # Only the traceback moved (a comment added above the raise): the same error.
    moved = {**KEY_ERROR, "traceback": [{"lineno": 10}]}
    assert verdict(failed, dataclasses.replace(failed, error=moved)) == "same"
    assert verdict(run(), run(ExecutionStatus.CANCELLED, output=None)) == "cancelled"
    assert verdict(run(), run(ExecutionStatus.RUNNING, output=None)) == "pending"


def test_a_changed_call_inside_is_a_different_tree() -> None:
    changed = compare_run(run(), tree(), run(), tree(helper_version=2, helper_input=7))
    assert changed.verdict == "different_tree"
    assert changed.tree is not None and changed.tree.changed == 1
    assert changed.tree.first_path == ["orders", "helper"]
    assert changed.tree.first_reason == "inputs"
    fewer = compare_run(run(), tree(), run(), tree()[:1])
    assert fewer.verdict == "different_tree"
    assert fewer.tree is not None and fewer.tree.removed == 1


@pytest.mark.parametrize(
    ("before", "after", "slower"),
    [
        (2.0, 2.0 + SLOWER_MIN_MS + 1, True),  # x11.5 and +21 ms
        (2.0, 2.0 + SLOWER_MIN_MS - 1, False),  # x10.5 but only +19 ms: jitter of a fast call
        (100.0, 100.0 * SLOWER_RATIO, True),
        (100.0, 100.0 * SLOWER_RATIO - 1, False),  # +49 ms but x1.49
        (None, 50.0, False),
    ],
)
def test_slower_needs_both_the_ratio_and_the_floor(
    before: float | None, after: float, slower: bool
) -> None:
    assert is_slower(before, after) is slower


def test_slower_is_judged_on_the_root_call() -> None:
    comparison = compare_run(run(), tree(root_ms=2.0), run(), tree(helper_version=2, root_ms=40))
    assert comparison.verdict == "slower"
    assert comparison.time_ratio == pytest.approx(20.0)
    # Without steps (tracking off) the executions' durations are compared.
    plain = compare_run(run(duration_ms=5), [], run(duration_ms=80), [])
    assert plain.verdict == "slower"
    # A difference of result outranks the slowdown.
    assert verdict(run(), run(output=1), after=tree(helper_version=2, root_ms=40)) == (
        "different_output"
    )


def test_a_failed_step_in_the_tree_does_not_hide_the_outcome() -> None:
    failing = [
        make_step(1, None, 0, "orders", status=StepStatus.FAILED, error=KEY_ERROR),
    ]
    failed = run(ExecutionStatus.FAILED, output=None, error=KEY_ERROR)
    assert compare_run(failed, failing, run(), tree(helper_version=2)).verdict == "fixed_error"
