"""Exploring what ran: an execution's outline (the tree without payloads, with own times, the
failing path and the critical path), one step in full, pages of steps, and per-version
statistics of a function. Read-only; what the web UI and API clients build views on.

Time rules used throughout:

* a step's **own time** (self time) is its duration minus the part of it covered by its
  recorded children (their intervals are merged, so children that overlap -- threads, asyncio
  tasks -- are not counted twice). Calls past the step budget are not recorded as children, so
  their time stays in the own time of the step they were counted under.
* the **critical path** starts at the root and repeatedly goes to the child that held its
  parent up longest. Only *blocking* children are candidates: walking back from the parent's
  end, the latest-ending child, then the latest-ending child that ended before that one
  started, and so on; a child overlapping a later-ending blocking sibling (a concurrent task
  that finished earlier) did not decide when its parent could go on. For sequential code
  this is the heaviest child at every level.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Protocol, TypeVar

from ..models import (
    ExecutionRecord,
    ExecutionStatus,
    StepRecord,
    StepStatus,
    StepSummary,
    StepTiming,
)
from ..store import NotFoundError, Store

# Statuses that count as errors in a version's error rate (cancelled runs count neither way).
ERROR_STATUSES = frozenset(
    {ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.CRASHED}
)
RATE_STATUSES = ERROR_STATUSES | {ExecutionStatus.SUCCEEDED}
MAX_STEP_PAGE = 10_000
MAX_RECENT_RUNS = 100
# Most steps read to rank a version's slowest steps (executions are read whole, newest first).
MAX_STATS_STEPS = 50_000


class TimedStep(Protocol):
    """What the time rules need of a step (a StepRecord, StepSummary or StepTiming)."""

    @property
    def id(self) -> int: ...

    @property
    def parent_id(self) -> int | None: ...

    @property
    def status(self) -> StepStatus: ...

    @property
    def started_at_ns(self) -> int: ...

    @property
    def duration_ns(self) -> int | None: ...


S = TypeVar("S", bound=TimedStep)


# --- time rules -----------------------------------------------------------------------------


def _by_parent(steps: Iterable[S]) -> dict[int | None, list[S]]:
    children: dict[int | None, list[S]] = {}
    for step in steps:
        children.setdefault(step.parent_id, []).append(step)
    return children


def _horizon(steps: Sequence[TimedStep]) -> int:
    """The latest moment any step is known to have lasted until (the end of a running
    step is not known yet: it counts as lasting until then)."""
    ends = [s.started_at_ns + (s.duration_ns or 0) for s in steps]
    return max(ends, default=0)


def _end(step: TimedStep, horizon: int) -> int:
    if step.duration_ns is None:
        return max(horizon, step.started_at_ns)
    return step.started_at_ns + step.duration_ns


def covered_ns(start: int, end: int, children: Iterable[tuple[int, int]]) -> int:
    """How much of ``[start, end)`` the union of the ``(start, end)`` intervals covers."""
    total = 0
    cursor = start
    for child_start, child_end in sorted(children):
        lo = max(child_start, cursor)
        hi = min(child_end, end)
        if hi > lo:
            total += hi - lo
            cursor = hi
        if cursor >= end:
            break
    return total


def own_time(step: TimedStep, children: Sequence[TimedStep], horizon: int) -> int | None:
    """``step``'s own time (``None`` while it runs): see the module docstring."""
    if step.duration_ns is None:
        return None
    start = step.started_at_ns
    end = start + step.duration_ns
    covered = covered_ns(start, end, ((c.started_at_ns, _end(c, horizon)) for c in children))
    return max(0, step.duration_ns - covered)


def self_times(steps: Sequence[TimedStep]) -> dict[int, int]:
    """Own time of every finished step, by step id."""
    children = _by_parent(steps)
    horizon = _horizon(steps)
    own: dict[int, int] = {}
    for step in steps:
        value = own_time(step, children.get(step.id, []), horizon)
        if value is not None:
            own[step.id] = value
    return own


def _blocking(children: Sequence[S], parent_end: int, horizon: int) -> list[S]:
    chosen: list[S] = []
    cursor = parent_end
    for child in sorted(children, key=lambda c: _end(c, horizon), reverse=True):
        if _end(child, horizon) <= cursor:
            chosen.append(child)
            cursor = child.started_at_ns
    return chosen


def _length(step: TimedStep, horizon: int) -> int:
    return _end(step, horizon) - step.started_at_ns


def critical_path(steps: Sequence[TimedStep]) -> list[int]:
    """Step ids from the root down along the chain that decided the total duration (see the
    module docstring); empty without steps."""
    children = _by_parent(steps)
    horizon = _horizon(steps)
    roots = children.get(None, [])
    if not roots:
        return []
    current = max(roots, key=lambda s: (_length(s, horizon), -s.id))
    path = [current.id]
    while True:
        blocking = _blocking(children.get(current.id, []), _end(current, horizon), horizon)
        if not blocking:
            return path
        current = max(blocking, key=lambda s: (_length(s, horizon), -s.id))
        path.append(current.id)


def failing_path_ids(steps: Sequence[TimedStep]) -> list[int]:
    """Step ids from the root to the innermost failed step, along failed steps (or, where no
    child failed, interrupted ones: a run stopped by its time limit or a cancel); empty when
    no root step failed or was interrupted."""
    children = _by_parent(steps)
    path: list[int] = []
    candidates = children.get(None, [])
    while True:
        failed = [s for s in candidates if s.status == StepStatus.FAILED]
        if not failed:
            failed = [s for s in candidates if s.status == StepStatus.INTERRUPTED]
        if not failed:
            return path
        step = failed[-1]
        path.append(step.id)
        candidates = children.get(step.id, [])


def percentile(values: Sequence[int], q: float) -> int | None:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``; ``None`` if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# --- executions and steps -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Outline:
    """An execution and all its steps without payloads: what a tree view needs at once.

    ``children`` counts direct children per step id (absent: none); ``self_ns`` is each
    finished step's own time; the paths are lists of step ids from the root."""

    execution: ExecutionRecord
    steps: list[StepSummary]
    children: dict[int, int]
    self_ns: dict[int, int]
    failing_path: list[int]
    critical_path: list[int]


def execution_outline(store: Store, execution_id: str) -> Outline:
    """The execution's :class:`Outline`; :class:`NotFoundError` for an unknown id."""
    execution = store.get_execution(execution_id)
    if execution is None:
        raise NotFoundError("execution", execution_id)
    steps = store.get_step_summaries(execution_id)
    children: dict[int, int] = {}
    for step in steps:
        if step.parent_id is not None:
            children[step.parent_id] = children.get(step.parent_id, 0) + 1
    return Outline(
        execution=execution,
        steps=steps,
        children=children,
        self_ns=self_times(steps),
        failing_path=failing_path_ids(steps),
        critical_path=critical_path(steps),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class StepDetail:
    """One step in full, with how its time splits: ``self_ns`` (own time) and
    ``children_ns`` (covered by recorded children), both ``None`` while it runs."""

    step: StepRecord
    children: int
    self_ns: int | None
    children_ns: int | None


def step_detail(store: Store, execution_id: str, step_id: int) -> StepDetail:
    """One step with its payload previews and time split; :class:`NotFoundError` for an
    unknown execution or step."""
    step = store.get_step(execution_id, step_id)
    if step is None:
        if store.get_execution(execution_id) is None:
            raise NotFoundError("execution", execution_id)
        raise NotFoundError("step", f"{execution_id}/{step_id}")
    children = store.get_step_summaries(execution_id, parent_id=step_id)
    horizon = max(_horizon(children), _horizon([step]))
    own = own_time(step, children, horizon)
    spent = None if own is None or step.duration_ns is None else step.duration_ns - own
    return StepDetail(step=step, children=len(children), self_ns=own, children_ns=spent)


@dataclasses.dataclass(frozen=True, slots=True)
class StepPage:
    """Steps in sequence order, their direct-children counts, and the cursor (a sequence
    number) of the next page, ``None`` on the last."""

    steps: list[StepSummary]
    children: dict[int, int]
    next_cursor: int | None


def step_page(
    store: Store,
    execution_id: str,
    *,
    parent_id: int | None = None,
    roots: bool = False,
    cursor: int | None = None,
    limit: int = 1000,
) -> StepPage:
    """A page of an execution's steps (all, the children of ``parent_id``, or the roots);
    :class:`NotFoundError` for an unknown execution."""
    if store.get_execution(execution_id) is None:
        raise NotFoundError("execution", execution_id)
    limit = max(1, min(limit, MAX_STEP_PAGE))
    steps = store.get_step_summaries(
        execution_id, parent_id=parent_id, roots=roots, after=cursor, limit=limit + 1
    )
    next_cursor = steps[limit - 1].sequence if len(steps) > limit else None
    steps = steps[:limit]
    children = store.count_children(execution_id, [s.id for s in steps])
    return StepPage(steps=steps, children=children, next_cursor=next_cursor)


# --- function statistics --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SlowStep:
    """One function's steps across recent runs, by own time: ``calls`` steps in ``runs``
    executions; the slowest single one is ``slowest_execution_id``/``slowest_step_id``."""

    name: str
    function: str | None
    calls: int
    runs: int
    total_self_ns: int
    max_self_ns: int
    slowest_execution_id: str
    slowest_step_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class VersionStats:
    """Runs of one version: counts per status, the error rate (failed, timed out or crashed
    among those that succeeded or failed in one of those ways; ``None`` without any),
    duration percentiles over the newest ``sampled`` finished runs, and -- for the version
    asked about -- the slowest steps by own time over its ``recent_runs`` newest runs."""

    version: int
    runs: int
    statuses: dict[str, int]
    error_rate: float | None
    sampled: int
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    recent_runs: int
    slowest_steps: list[SlowStep] | None


@dataclasses.dataclass(frozen=True, slots=True)
class FunctionStats:
    namespace: str
    name: str
    versions: list[VersionStats]


def function_stats(
    store: Store,
    namespace: str,
    name: str,
    *,
    steps_of: int | None = None,
    recent_runs: int = 20,
    sample: int = 1000,
    top: int = 10,
) -> FunctionStats:
    """Statistics for every version of a function, newest first. Slowest steps are worked
    out for version ``steps_of`` only (default: the current version), over its
    ``recent_runs`` newest finished runs. :class:`NotFoundError` for an unknown function or
    version."""
    function = store.get_function(namespace, name)
    if function is None:
        raise NotFoundError("function", f"{namespace}/{name}")
    current = function.current_version or 0
    if steps_of is None:
        steps_of = current
    elif not 1 <= steps_of <= current:
        raise NotFoundError("version", f"{namespace}/{name} v{steps_of}")
    recent_runs = max(1, min(recent_runs, MAX_RECENT_RUNS))
    counts = store.version_status_counts(namespace, name)
    versions: list[VersionStats] = []
    for number in range(current, 0, -1):
        statuses = counts.get(number, {})
        runs = sum(statuses.values())
        rated = sum(statuses.get(s.value, 0) for s in RATE_STATUSES)
        errors = sum(statuses.get(s.value, 0) for s in ERROR_STATUSES)
        durations = store.recent_durations(namespace, name, number, limit=sample) if runs else []
        slowest: list[SlowStep] | None = None
        used = 0
        if number == steps_of:
            ids = store.recent_execution_ids(namespace, name, number, limit=recent_runs)
            slowest, used = slowest_steps(store, ids, top=top)
        versions.append(
            VersionStats(
                version=number,
                runs=runs,
                statuses=dict(sorted(statuses.items())),
                error_rate=None if not rated else errors / rated,
                sampled=len(durations),
                p50_ms=percentile(durations, 50),
                p95_ms=percentile(durations, 95),
                p99_ms=percentile(durations, 99),
                recent_runs=used,
                slowest_steps=slowest,
            )
        )
    return FunctionStats(namespace=namespace, name=name, versions=versions)


def slowest_steps(
    store: Store, execution_ids: Sequence[str], *, top: int = 10
) -> tuple[list[SlowStep], int]:
    """The ``top`` step names with the most own time across these executions (newest
    first), and how many of them were read: reading stops before an execution that would
    take the total past :data:`MAX_STATS_STEPS` steps (the first is always read)."""
    timings, used = store.get_step_timings_within(execution_ids, MAX_STATS_STEPS)
    by_execution: dict[str, list[StepTiming]] = {}
    for timing in timings:
        by_execution.setdefault(timing.execution_id, []).append(timing)
    totals: dict[tuple[str | None, str], list[int]] = {}
    slowest: dict[tuple[str | None, str], tuple[int, str, int]] = {}
    runs: dict[tuple[str | None, str], set[str]] = {}
    for execution_id, steps in by_execution.items():
        own = self_times(steps)
        for step in steps:
            if step.id not in own:
                continue
            key = (step.function, step.name)
            value = own[step.id]
            entry = totals.setdefault(key, [0, 0])
            entry[0] += 1
            entry[1] += value
            runs.setdefault(key, set()).add(execution_id)
            if key not in slowest or value > slowest[key][0]:
                slowest[key] = (value, execution_id, step.id)
    ranked = sorted(totals.items(), key=lambda item: (-item[1][1], item[0][1]))[:top]
    return [
        SlowStep(
            name=key[1],
            function=key[0],
            calls=calls,
            runs=len(runs[key]),
            total_self_ns=total,
            max_self_ns=slowest[key][0],
            slowest_execution_id=slowest[key][1],
            slowest_step_id=slowest[key][2],
        )
        for key, (calls, total) in ranked
    ], used
