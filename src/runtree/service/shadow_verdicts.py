"""What a shadow run says about a new version: its result against the recorded one. Pure.

Each recorded input gets one **verdict**, the first that applies:

``pending``
    the shadow run has not finished.
``cancelled``
    the shadow run was cancelled (nothing was compared).
``new_error``
    the recorded run succeeded, the shadow run did not (failed, timed out, crashed).
``fixed_error``
    the recorded run failed, the shadow run succeeded.
``different_error``
    both failed, with another exception type or message (tracebacks are not compared:
    their line numbers move with any edit).
``different_output``
    both succeeded with different outputs (their recorded JSON previews).
``different_tree``
    same outcome, but the step trees differ (:mod:`.tree_diff`): a call added or removed,
    or a call whose inputs, output, status, error or aggregated calls changed. That the
    shadowed function's steps ran another version is expected and not a difference.
``slower``
    nothing above, but the run's root call took at least :data:`SLOWER_RATIO` times as
    long as recorded *and* at least :data:`SLOWER_MIN_MS` more.
``same``
    none of the above.

Times come from one run on each side, recorded at different moments, possibly under
different load: the absolute floor keeps the jitter of fast calls (a 2 ms call taking 4 ms)
from counting, but a busy machine can still make a run look slower. Every verdict but
``same`` makes a report not clean.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from ..models import ExecutionRecord, ExecutionStatus, StepRecord
from .tree_diff import TreeDiff, diff_trees

Verdict = Literal[
    "pending",
    "cancelled",
    "new_error",
    "fixed_error",
    "different_error",
    "different_output",
    "different_tree",
    "slower",
    "same",
]
VERDICTS: tuple[Verdict, ...] = (
    "same",
    "different_output",
    "new_error",
    "fixed_error",
    "different_error",
    "different_tree",
    "slower",
    "cancelled",
    "pending",
)
SLOWER_RATIO = 1.5
SLOWER_MIN_MS = 20.0


@dataclasses.dataclass(frozen=True, slots=True)
class TreeChanges:
    """How the shadow run's tree differs from the recorded one (shadowed versions aside)."""

    changed: int
    added: int
    removed: int
    first_path: list[str] | None
    first_reason: str | None

    @property
    def any(self) -> bool:
        return bool(self.changed or self.added or self.removed)


@dataclasses.dataclass(frozen=True, slots=True)
class Comparison:
    """One recorded input: the recorded run, its shadow run and the verdict."""

    recorded: ExecutionRecord
    shadow: ExecutionRecord
    verdict: Verdict
    recorded_ms: float | None
    shadow_ms: float | None
    tree: TreeChanges | None

    @property
    def time_ratio(self) -> float | None:
        """Shadow time over recorded time of the root call (``None`` when unknown)."""
        if self.recorded_ms is None or self.shadow_ms is None or self.recorded_ms <= 0:
            return None
        return self.shadow_ms / self.recorded_ms


def error_text(execution: ExecutionRecord) -> str | None:
    """``Type: message`` of an execution's error (``None`` when it has none)."""
    error = execution.error
    if not isinstance(error, dict):
        return None
    return f"{error.get('type', 'Error')}: {error.get('message', '')}"


def call_ms(execution: ExecutionRecord, steps: list[StepRecord]) -> float | None:
    """How long the run's root call took, in ms: its root step's duration, else (no steps:
    tracking off) the execution's, which includes starting the worker."""
    for step in steps:
        if step.parent_id is None and step.duration_ns is not None:
            return step.duration_ns / 1e6
    return None if execution.duration_ms is None else float(execution.duration_ms)


def is_slower(recorded_ms: float | None, shadow_ms: float | None) -> bool:
    """At least :data:`SLOWER_RATIO` times the recorded time and :data:`SLOWER_MIN_MS` ms
    more."""
    if recorded_ms is None or shadow_ms is None:
        return False
    return shadow_ms >= recorded_ms * SLOWER_RATIO and shadow_ms - recorded_ms >= SLOWER_MIN_MS


def tree_changes(diff: TreeDiff) -> TreeChanges:
    """The rows of ``diff`` that differ by more than the version that ran."""
    changed = added = removed = 0
    first: int | None = None
    reason: str | None = None
    for row in diff.rows:
        if row.kind == "added":
            added += 1
        elif row.kind == "removed":
            removed += 1
        elif row.kind == "changed" and (
            row.status_changed or row.error or row.inputs or row.output_changed or row.aggregates
        ):
            changed += 1
        else:
            continue
        if first is None:
            first = row.index
            reason = row.kind if row.kind != "changed" else _row_reason(row)
    return TreeChanges(
        changed=changed,
        added=added,
        removed=removed,
        first_path=None if first is None else diff.path(first),
        first_reason=reason,
    )


def _row_reason(row: Any) -> str:
    for reason, present in (
        ("status", row.status_changed),
        ("error", row.error),
        ("inputs", row.inputs),
        ("output", row.output_changed),
        ("aggregates", row.aggregates),
    ):
        if present:
            return reason
    return "changed"


def compare_run(
    recorded: ExecutionRecord,
    recorded_steps: list[StepRecord],
    shadow: ExecutionRecord,
    shadow_steps: list[StepRecord],
) -> Comparison:
    """The verdict on one shadow run (see the module docstring)."""
    if not shadow.finished:
        return Comparison(
            recorded, shadow, "pending", call_ms(recorded, recorded_steps), None, None
        )
    before_ms = call_ms(recorded, recorded_steps)
    after_ms = call_ms(shadow, shadow_steps)
    tree = tree_changes(diff_trees(recorded_steps, shadow_steps))
    verdict: Verdict
    before_ok = recorded.status == ExecutionStatus.SUCCEEDED
    after_ok = shadow.status == ExecutionStatus.SUCCEEDED
    if shadow.status == ExecutionStatus.CANCELLED:
        verdict = "cancelled"
    elif before_ok and not after_ok:
        verdict = "new_error"
    elif after_ok and not before_ok:
        verdict = "fixed_error"
    elif not before_ok and error_text(recorded) != error_text(shadow):
        verdict = "different_error"
    elif before_ok and recorded.output != shadow.output:
        verdict = "different_output"
    elif tree.any:
        verdict = "different_tree"
    elif is_slower(before_ms, after_ms):
        verdict = "slower"
    else:
        verdict = "same"
    return Comparison(recorded, shadow, verdict, before_ms, after_ms, tree)
