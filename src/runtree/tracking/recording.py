"""Recordings: the in-memory collection of steps made while code runs.

>>> with record() as rec:            # doctest: +SKIP
...     orders["calculate_order_total"](42)
>>> print(rec.render())               # doctest: +SKIP
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
from .capture import DEFAULT_SECRET_NAMES, DEFAULT_VALUE_BUDGET, CapturePolicy
from .context import current
from .step import INTERRUPTED, RUNNING, Aggregate, Step, generator_steps

DEFAULT_STEP_BUDGET = 10_000
DEFAULT_MAX_DEPTH = 500
DEFAULT_STDOUT_BUDGET = 64 * 1024

_RUNTREE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Recording:
    """Steps recorded while the recording is open, in call order.

    Use as a context manager (``with runtree.record() as rec``). Calls of instrumented
    functions made in the ``with`` block -- and in threads and tasks it starts -- become steps.
    ``step_budget`` bounds how many steps are kept; further calls are counted and timed per
    function under their nearest recorded ancestor (see :class:`Aggregate`). Calls deeper than
    ``max_depth`` are aggregated the same way.
    """

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
        self.max_depth = max_depth
        self.stdout_budget = stdout_budget
        self.policy = CapturePolicy(value_budget=value_budget, secret_names=tuple(secret_names))
        self.steps: list[Step] = []
        self.ids = itertools.count(1)
        self.closed = False
        self.exceptions: dict[int, tuple[BaseException, Any, Step]] = {}
        self.root = _root_step(self)
        self.wall_start_ns = time.time_ns()
        self.perf_start_ns = perf_counter_ns()
        self._token: Any = None

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Recording:
        if self._token is not None or self.closed:
            raise RuntimeError("a Recording can be entered only once")
        self.wall_start_ns = time.time_ns()
        self.perf_start_ns = perf_counter_ns()
        self._token = current.set(self.root)
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
        if self._token is not None:
            try:
                current.reset(self._token)
            except ValueError:  # closed from another context than the one that opened it
                current.set(None)
        runtime.recording_closed()
        for step in self.steps:
            if step.status == RUNNING:
                step.status = INTERRUPTED
                step.duration_ns = now - step.t0
                if step.frame is not None:
                    generator_steps.pop(step.frame, None)
                    step.frame = None
        self.root.frame = None
        self.exceptions.clear()

    # --- reading ------------------------------------------------------------------------

    @property
    def aggregates(self) -> list[Aggregate]:
        """Calls aggregated at the top level (past the budget before any step was open)."""
        return list(getattr(self.root, "aggregates", {}).values())

    def children(self) -> dict[int | None, list[Step]]:
        """Steps grouped by parent id, in call order (``None``: the root steps)."""
        tree: dict[int | None, list[Step]] = {}
        for step in self.steps:
            tree.setdefault(step.parent_id, []).append(step)
        return tree

    def traceback_of(self, step: Step) -> list[dict[str, Any]]:
        """The failing step's traceback, outermost first: its own frames, then those of the
        step the exception came from. runtree's own frames are left out."""
        frames: list[dict[str, Any]] = []
        seen = 0
        node: Step | None = step
        while node is not None and seen < 10_000:
            seen += 1
            error = getattr(node, "_error", None)
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
        """The text tree (format in DESIGN.md)."""
        from .render import render_recording

        return render_recording(self)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<Recording {state}, {len(self.steps)} steps>"


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


def _root_step(rec: Recording) -> Step:
    root = object.__new__(Step)
    root.recording = rec
    root.meta = None
    root.parent = None
    root.depth = -1
    root.id = None
    root.frame = None
    root.status = RUNNING
    root.t0 = perf_counter_ns()
    return root


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
