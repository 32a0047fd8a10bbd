"""Trace files of one execution: Chrome trace events, speedscope, runtree JSON. Pure (no I/O).

* ``chrome``: the Trace Event Format (``{"traceEvents": [...]}``) that Perfetto and
  chrome://tracing open. Each step is one complete event (``"ph": "X"``) with ``ts`` and
  ``dur`` in microseconds from the earliest start (fractions keep nanoseconds), ``pid`` 1 and
  the ``tid`` of its lane; ``args`` carry ``function``, ``version``, ``status``, ``step_id``,
  ``parent_id``, the source location, the error (``Type: message``) and the step's
  **aggregates** (rows of calls folded into counts, which have no start times of their own:
  they are args of the step that made them, never events).
* ``speedscope``: speedscope's file format with one *evented* profile per lane, times in
  nanoseconds from the earliest start, frames shared and deduplicated by name and location.
* ``json``: ``{"format": "runtree-trace", "execution": {...}, "steps": [...]}`` with the
  steps in the shape of ``StepRecord.to_dict()`` (errors as the HTTP API gives them: keys in
  its order, ``step_id``/``from_step`` left out when empty).

**Lanes.** Both viewers need the slices of one thread (``tid``, profile) properly nested.
Steps that ran concurrently (threads, async tasks) can overlap their siblings, so each step
goes on its parent's lane when it fits inside the parent there, else on the first lane that
is free at its start, else on a new lane: on every lane each slice either contains another
or is disjoint from it, and a child is drawn under its parent whenever its parent's lane
allows. A step that starts before its parent (clock rounding) is moved to the parent's
start, and one that would end after it is cut at the parent's end; a step still running (no
duration) ends where its parent ends, or at the latest time the trace knows.
"""

from __future__ import annotations

import dataclasses
import enum
import heapq
from collections.abc import Sequence
from typing import Any

from ..models import ExecutionRecord, StepRecord
from ..timestamps import rfc3339

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"


class TraceFormat(enum.StrEnum):
    """The formats :func:`export_trace` writes."""

    CHROME = "chrome"
    SPEEDSCOPE = "speedscope"
    JSON = "json"


@dataclasses.dataclass(slots=True)
class _Slice:
    step: StepRecord
    start: int  # ns from the origin
    end: int
    lane: int = -1


def export_trace(
    execution: ExecutionRecord, steps: Sequence[StepRecord], trace_format: TraceFormat
) -> dict[str, Any]:
    """The execution's steps as a JSON-ready document in ``trace_format`` (module
    docstring). ``steps`` is any order; steps whose parent is missing count as roots."""
    if trace_format is TraceFormat.JSON:
        return {
            "format": "runtree-trace",
            "execution": _summary(execution),
            "steps": [_step_document(step) for step in steps],
        }
    slices, end = _lay_out(steps)
    if trace_format is TraceFormat.CHROME:
        return _chrome(execution, slices)
    return _speedscope(execution, slices, end)


def trace_filename(execution: ExecutionRecord, trace_format: TraceFormat) -> str:
    """A download name: ``runtree-<ns>-<name>-<id8>.<format>.json``."""
    return f"runtree-{execution.namespace}-{execution.name}-{execution.id[:8]}.{trace_format}.json"


def _summary(execution: ExecutionRecord) -> dict[str, Any]:
    return {
        "id": execution.id,
        "function": execution.qualified_name,
        "version": execution.version,
        "status": str(execution.status),
        "started_at": None if execution.started_at is None else rfc3339(execution.started_at),
        "finished_at": None if execution.finished_at is None else rfc3339(execution.finished_at),
        "duration_ms": execution.duration_ms,
    }


# The key order of the HTTP API's ErrorOut; its optional links are left out when empty, so a
# step exported from the database and one fetched from a server give the same text.
_ERROR_ORDER = ("type", "message", "traceback", "step_id", "from_step")


def _step_document(step: StepRecord) -> dict[str, Any]:
    document = step.to_dict()
    error = document["error"]
    if isinstance(error, dict):
        present = {key: value for key, value in error.items() if value is not None}
        first = {key: present[key] for key in _ERROR_ORDER if key in present}
        document["error"] = {**first, **present}
    return document


def _lay_out(steps: Sequence[StepRecord]) -> tuple[list[_Slice], int]:
    """Slices (ns from the earliest start) in placement order, each with its lane, and the
    trace's end."""
    if not steps:
        return [], 0
    origin = min(step.started_at_ns for step in steps)
    latest = max(step.started_at_ns + (step.duration_ns or 0) - origin for step in steps)
    by_id = {step.id: step for step in steps}
    children: dict[int | None, list[StepRecord]] = {}
    for step in steps:
        parent_id = step.parent_id if step.parent_id in by_id else None
        children.setdefault(parent_id, []).append(step)
    slices: dict[int, _Slice] = {}
    # Parents before children (iterative: trees can be deep), clipping each into its parent.
    pending: list[tuple[StepRecord, _Slice | None]] = [(s, None) for s in children.get(None, [])]
    while pending:
        step, parent = pending.pop()
        low, high = (0, latest) if parent is None else (parent.start, parent.end)
        start = min(max(step.started_at_ns - origin, low), high)
        end = high if step.duration_ns is None else start + step.duration_ns
        slices[step.id] = here = _Slice(step, start, min(max(end, start), high))
        pending.extend((child, here) for child in children.get(step.id, []))
    ordered = sorted(
        slices.values(), key=lambda s: (s.start, -s.end, s.step.depth, s.step.sequence)
    )
    _assign_lanes(ordered, slices)
    return ordered, latest


def _assign_lanes(ordered: list[_Slice], slices: dict[int, _Slice]) -> None:
    """Give each slice its lane (module docstring), in O(n log n): a lane is free once its
    outermost slice has ended, and the lowest free lane is taken."""
    stacks: list[list[_Slice]] = []  # per lane, the slices that may still hold a child
    outer_end: list[int] = []  # per lane, the end of its outermost slice
    is_free: list[bool] = []
    ending: list[tuple[int, int]] = []  # heap of (outer end, lane) of the lanes in use
    free: list[int] = []  # heap of free lanes (entries of lanes taken since are skipped)
    for here in ordered:
        while ending and ending[0][0] <= here.start:
            end, lane = heapq.heappop(ending)
            if not is_free[lane] and outer_end[lane] == end:
                is_free[lane] = True
                heapq.heappush(free, lane)
        parent = slices.get(here.step.parent_id) if here.step.parent_id is not None else None
        if parent is not None:
            stack = stacks[parent.lane]
            while stack and stack[-1] is not parent and stack[-1].end <= here.start:
                stack.pop()
            if stack and stack[-1] is parent:
                here.lane = parent.lane
                if is_free[here.lane]:  # the parent ended where this child starts
                    is_free[here.lane] = False
                    heapq.heappush(ending, (outer_end[here.lane], here.lane))
        if here.lane < 0:
            while free and not is_free[free[0]]:
                heapq.heappop(free)
            if free:
                here.lane = heapq.heappop(free)
                is_free[here.lane] = False
                stacks[here.lane].clear()  # everything on it has ended
            else:
                here.lane = len(stacks)
                stacks.append([])
                outer_end.append(0)
                is_free.append(False)
        stack = stacks[here.lane]
        stack.append(here)
        if len(stack) == 1:
            outer_end[here.lane] = here.end
            heapq.heappush(ending, (here.end, here.lane))


def _step_args(step: StepRecord) -> dict[str, Any]:
    args: dict[str, Any] = {
        "function": step.function,
        "version": step.version,
        "status": str(step.status),
        "step_id": step.id,
        "parent_id": step.parent_id,
    }
    if step.filename is not None:
        args["location"] = f"{step.filename}:{step.lineno}"
    if step.error:
        args["error"] = f"{step.error.get('type', 'Error')}: {step.error.get('message', '')}"
    if step.aggregates:
        args["aggregates"] = step.aggregates
    return args


def _micros(ns: int) -> float | int:
    return ns // 1000 if ns % 1000 == 0 else ns / 1000


def _chrome(execution: ExecutionRecord, slices: list[_Slice]) -> dict[str, Any]:
    title = f"{execution.qualified_name} v{execution.version} ({execution.id[:8]})"
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": title}}
    ]
    lanes = sorted({s.lane for s in slices})
    events += [
        {
            "name": "thread_name",
            "ph": "M",
            "pid": 1,
            "tid": lane + 1,
            "args": {"name": f"lane {lane + 1}"},
        }
        for lane in lanes
    ]
    events += [
        {
            "name": s.step.name,
            "cat": "step",
            "ph": "X",
            "ts": _micros(s.start),
            "dur": _micros(s.end - s.start),
            "pid": 1,
            "tid": s.lane + 1,
            "args": _step_args(s.step),
        }
        for s in slices
    ]
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"exporter": "runtree", **_summary(execution)},
    }


def _speedscope(execution: ExecutionRecord, slices: list[_Slice], end: int) -> dict[str, Any]:
    frames: list[dict[str, Any]] = []
    frame_of: dict[tuple[str, str | None, int | None], int] = {}
    lanes: dict[int, list[dict[str, Any]]] = {}
    open_slices: dict[int, list[tuple[_Slice, int]]] = {}
    for here in slices:
        key = (here.step.name, here.step.filename, here.step.lineno)
        frame = frame_of.get(key)
        if frame is None:
            frame = frame_of[key] = len(frames)
            frames.append(_frame(here.step))
        events = lanes.setdefault(here.lane, [])
        stack = open_slices.setdefault(here.lane, [])
        # Placement left on this lane only the slice's parent open (or nothing): close the rest.
        while stack and stack[-1][0].step.id != here.step.parent_id:
            done, done_frame = stack.pop()
            events.append({"type": "C", "frame": done_frame, "at": done.end})
        events.append({"type": "O", "frame": frame, "at": here.start})
        stack.append((here, frame))
    for lane, stack in open_slices.items():
        while stack:
            done, done_frame = stack.pop()
            lanes[lane].append({"type": "C", "frame": done_frame, "at": done.end})
    name = f"{execution.qualified_name} v{execution.version} ({execution.id[:8]})"
    return {
        "$schema": SPEEDSCOPE_SCHEMA,
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "evented",
                "name": name if len(lanes) == 1 else f"{name} lane {lane + 1}",
                "unit": "nanoseconds",
                "startValue": 0,
                "endValue": end,
                "events": lanes[lane],
            }
            for lane in sorted(lanes)
        ],
        "name": name,
        "activeProfileIndex": 0,
        "exporter": "runtree",
    }


def _frame(step: StepRecord) -> dict[str, Any]:
    frame: dict[str, Any] = {"name": step.name}
    if step.filename is not None:
        frame["file"] = step.filename
    if step.lineno is not None:
        frame["line"] = step.lineno
    return frame
