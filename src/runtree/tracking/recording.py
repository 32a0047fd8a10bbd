"""Recordings: the in-memory collection of steps made while code runs.

>>> with record() as rec:  # doctest: +SKIP
...     orders["calculate_order_total"](42)
>>> print(rec.render())  # doctest: +SKIP
"""

from __future__ import annotations

import itertools
import linecache
import os
import time
import types
from collections.abc import Iterator
from time import perf_counter_ns
from typing import Any

from . import runtime
from .budget import RESERVE_DIVISOR, CallPath
from .capture import DEFAULT_SECRET_NAMES, DEFAULT_VALUE_BUDGET, CapturePolicy
from .context import holder_var
from .records import (
    INTERRUPTED,
    R_EXTRA,
    R_FAST,
    R_FRAME,
    R_GEN,
    R_ID,
    R_PARENT,
    R_STATUS,
    ROOT_ID,
    RUNNING,
    Aggregate,
    extra_of,
    finished,
)
from .step import Step

DEFAULT_STEP_BUDGET = 10_000
DEFAULT_MAX_DEPTH = 500
DEFAULT_STDOUT_BUDGET = 64 * 1024

# Bound once: a run's clock reads may be recorded and replayed (execution/world), the steps'
# own start times never are.
_wall_ns = time.time_ns

_RUNTREE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Recording:
    """Steps recorded while the recording is open, in call order.

    Use as a context manager (``with runtree.record() as rec``). Calls of instrumented
    functions made in the ``with`` block -- and in threads and tasks it starts -- become steps.
    ``step_budget`` bounds how many steps are kept, shared fairly (see :mod:`.budget`: calls
    on new call paths, into other modules and on the path to an error keep a reserve); other
    calls are counted and timed per function under their true parent (see
    :class:`Aggregate`). Calls deeper than ``max_depth`` are aggregated the same way.
    """

    # Slots: the hooks read several of these on every recorded call.
    __slots__ = (
        "_token",
        "_views",
        "closed",
        "exceptions",
        "ids",
        "internal_errors",
        "max_depth",
        "paths_left",
        "perf_start_ns",
        "policy",
        "records",
        "reserve_left",
        "root",
        "rows_left",
        "slots_left",
        "stdout_budget",
        "step_budget",
        "wall_start_ns",
    )

    def __init__(
        self,
        *,
        step_budget: int = DEFAULT_STEP_BUDGET,
        max_depth: int = DEFAULT_MAX_DEPTH,
        value_budget: int = DEFAULT_VALUE_BUDGET,
        secret_names: tuple[str, ...] = DEFAULT_SECRET_NAMES,
        stdout_budget: int = DEFAULT_STDOUT_BUDGET,
    ) -> None:
        if step_budget < 1:
            raise ValueError(f"step_budget must be at least 1, got {step_budget}")
        if max_depth < 1:
            raise ValueError(f"max_depth must be at least 1, got {max_depth}")
        self.step_budget = step_budget
        # The budget (see budget.py): a general pool and a reserve, counting down; 0 once
        # closed. Call paths and aggregate rows are capped so memory stays bounded.
        self.reserve_left = step_budget // RESERVE_DIVISOR
        self.slots_left = step_budget - self.reserve_left
        self.paths_left = step_budget
        self.rows_left = step_budget
        self.max_depth = max_depth
        self.stdout_budget = stdout_budget
        self.policy = CapturePolicy(value_budget=value_budget, secret_names=tuple(secret_names))
        # Raw records by step id (see records.py): what the hot path writes.
        self.records: dict[int, Any] = {}
        self.ids = itertools.count(1)
        self.closed = False
        # id(exception) -> (its type, id of the traceback head the last step saw, that step)
        self.exceptions: dict[int, tuple[type, int, int]] = {}
        self._views: dict[int, Step] = {}
        # Failures of runtree itself while recording (never raised into user code).
        self.internal_errors: list[str] = []
        # The root is a "plain" parent (FAST not None): top-level calls take the fast path.
        self.root: list[Any] = [
            None,
            None,
            -1,
            ROOT_ID,
            RUNNING,
            perf_counter_ns(),
            True,
            None,
            (),
            None,
            self,
            None,
            None,
            None,
            CallPath(None, None),
        ]
        self.wall_start_ns = _wall_ns()
        self.perf_start_ns = perf_counter_ns()
        self._token: Any = None

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Recording:
        if self._token is not None or self.closed:
            raise RuntimeError("a Recording can be entered only once")
        self.wall_start_ns = _wall_ns()
        self.perf_start_ns = perf_counter_ns()
        self._token = holder_var.set([self.root])
        runtime.recording_opened()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop recording. Calls still running (a suspended generator, a thread) are marked
        ``interrupted`` with their duration so far."""
        if self.closed:
            return
        now = perf_counter_ns()
        self.closed = True
        self.slots_left = self.reserve_left = 0
        if self._token is not None:
            try:
                holder_var.reset(self._token)
            except ValueError:  # closed from another context than the one that opened it
                holder_var.set(None)
        runtime.recording_closed()
        for step_id, record in list(self.records.items()):
            if type(record) is list:
                gen = record[R_GEN]
                if gen is not None:
                    runtime.generator_records.pop(gen, None)
                record[R_STATUS] = INTERRUPTED
                record[R_FAST] = record[R_FRAME] = None
                self.records[step_id] = finished(record, INTERRUPTED, now)
        self.exceptions.clear()

    # --- reading ------------------------------------------------------------------------

    @property
    def steps(self) -> list[Step]:
        """The steps in call order."""
        views = self._views
        result = []
        for step_id in sorted(self.records):
            view = views.get(step_id)
            if view is None:
                view = views[step_id] = Step(self, step_id)
            result.append(view)
        return result

    @property
    def aggregates(self) -> list[Aggregate]:
        """Calls aggregated at the top level (past the budget before any step was open)."""
        rows = (self.root[R_EXTRA] or {}).get("aggregates", {}).values()
        return [row for row in rows if not row.is_empty()]

    def record_error(self, record: list[Any], exc: BaseException) -> None:
        """Keep the type, message and this step's part of the traceback of ``exc``.

        The same exception passing up through several steps: each keeps only its own part of
        the traceback (down to the step it came from), so a deep failure costs O(depth). Only
        ids are kept between steps, never the exception: a recording must not keep failed
        frames (and their locals) alive.
        """
        previous = self.exceptions.get(id(exc))
        stop_id, child = 0, None
        if previous is not None and previous[0] is type(exc):
            # Ids are reused once an exception is gone: the earlier step must be this one's
            # child, else the entry belongs to a dead exception (its traceback ids too).
            earlier = self.records.get(previous[2])
            if earlier is not None and _parent_id(earlier) == record[R_ID]:
                stop_id, child = previous[1], previous[2]
        tb = exc.__traceback__
        head = id(tb)
        frames: list[tuple[types.CodeType, int]] = []
        while tb is not None and id(tb) != stop_id:
            frames.append((tb.tb_frame.f_code, tb.tb_lineno))
            tb = tb.tb_next
        if tb is None:
            child = None  # not the exception the earlier step saw (its id was reused)
        self.exceptions[id(exc)] = (type(exc), head, record[R_ID])
        extra_of(record)["error"] = (type(exc), _exception_message(exc), frames, child)

    def children(self) -> dict[int | None, list[Step]]:
        """Steps grouped by parent id, in call order (``None``: the root steps)."""
        tree: dict[int | None, list[Step]] = {}
        for step in self.steps:
            tree.setdefault(step.parent_id, []).append(step)
        return tree

    def traceback_of(self, step_id: int) -> list[dict[str, Any]]:
        """The failing step's traceback, outermost first: its own frames, then those of the
        step the exception came from. runtree's own frames are left out."""
        frames: list[dict[str, Any]] = []
        node: int | None = step_id
        for _ in range(10_000):
            record = self.records.get(node) if node is not None else None
            error = (record[R_EXTRA] or {}).get("error") if record is not None else None
            if error is None:
                break
            for code, lineno in error[2]:
                entry = _frame_entry(code, lineno)
                if entry is not None:
                    frames.append(entry)
            node = error[3]
        return frames

    def to_dict(self, *, include_blobs: bool = False) -> dict[str, Any]:
        """The JSON shape: flat steps with parent ids, plus top-level aggregates."""
        return {
            "steps": [step.to_dict(include_blobs=include_blobs) for step in self.steps],
            "aggregates": [agg.to_dict() for agg in self.aggregates],
            "step_budget": self.step_budget,
            "started_at_ns": self.wall_start_ns,
        }

    def render(self) -> str:
        """The text tree (format in docs/design.md)."""
        from .render import render_recording

        return render_recording(self)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Recording {state}, {len(self.records)} steps>"


def record(
    *,
    step_budget: int = DEFAULT_STEP_BUDGET,
    max_depth: int = DEFAULT_MAX_DEPTH,
    value_budget: int = DEFAULT_VALUE_BUDGET,
    secret_names: tuple[str, ...] = DEFAULT_SECRET_NAMES,
    stdout_budget: int = DEFAULT_STDOUT_BUDGET,
) -> Recording:
    """A new :class:`Recording`, to be used as ``with runtree.record() as rec: ...``."""
    return Recording(
        step_budget=step_budget,
        max_depth=max_depth,
        value_budget=value_budget,
        secret_names=secret_names,
        stdout_budget=stdout_budget,
    )


def _parent_id(record: Any) -> int:
    """The parent's step id of a running (list) or finished (tuple) record; 0 for the root."""
    parent = record[R_PARENT]
    if type(record) is list:
        return int(parent[R_ID])
    return int(parent or 0)


def _exception_message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


def _frame_entry(code: types.CodeType, lineno: int) -> dict[str, Any] | None:
    filename = code.co_filename
    if filename.startswith(_RUNTREE_DIR + os.sep):
        return None
    return {
        "filename": filename,
        "lineno": lineno,
        "name": code.co_name,
        "line": linecache.getline(filename, lineno).strip(),
    }
