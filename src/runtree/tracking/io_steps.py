"""I/O steps: an outbound request recorded as a step under the call that made it.

The hooks record calls of instrumented functions; an HTTP request made by a library is not
one. :func:`begin` opens a step for it under the innermost recorded step of the running
context (a thread's or a task's own, see :mod:`.context`; the step a call made there would
nest in, see :func:`.runtime.resolve_current`) and :func:`end` finishes it, so
the request shows in the tree where the code made it, with its own duration, while it runs
(a request still waiting when the run ends is ``interrupted``).

An I/O step is an ordinary step record (see :mod:`.records`) whose EXTRA holds ``"io"``: a
small summary (``method``, ``url``, ``status``) that :meth:`.step.Step.to_dict` sends as the
step's ``kind: "io"`` and ``io`` keys. Its inputs are the request (``method``, ``url``,
``headers``, ``body``) and its output the response (``status``, ``headers``, ``body``),
captured like any value: within the value budget, truncated visibly. Its file and line are
those of the innermost frame of the user's code that led to it (:data:`user_files`).

It costs a step of the budget like a call does; past the budget (or under an aggregated
call) no step is made and :func:`begin` returns ``None``. Standard library only.
"""

from __future__ import annotations

import sys
from time import perf_counter_ns
from typing import Any

from . import capture
from .records import COMPLETED, FAILED, R_DEPTH, R_EXTRA, R_ID, R_REC, RUNNING, finished
from .runtime import resolve_current

REQUEST_PARAMS = ("method", "url", "headers", "body")

# The file names of the code being run (``namespace/name.py``): an I/O step's location is
# the innermost frame in one of them. Set by whoever runs the code (the worker).
user_files: frozenset[str] = frozenset()


def begin(method: str, url: str, headers: Any, body: Any) -> list[Any] | None:
    """Open an I/O step for a request under the current step; ``None`` when nothing is being
    recorded here (no recording, a paused or aggregated context, the budget spent). Never
    raises."""
    try:
        parent = resolve_current()
        if parent is None or parent[R_ID] < 0:
            return None
        rec = parent[R_REC]
        if rec is None or rec.closed or parent[R_DEPTH] + 1 > rec.max_depth:
            return None
        if rec.slots_left > 0:
            rec.slots_left -= 1
        elif rec.reserve_left > 0:
            rec.reserve_left -= 1
        else:
            return None
        filename, lineno = _user_location()
        name = f"{method} {url}"
        meta = (name, filename, lineno, REQUEST_PARAMS, 0, None)
        inputs = capture.snapshot((method, url, headers, body), rec.policy)
        step_id = next(rec.ids)
        extra = {"io": {"method": method, "url": url, "status": None}}
        record = [
            meta,
            parent,
            parent[R_DEPTH] + 1,
            step_id,
            RUNNING,
            perf_counter_ns(),
            None,
            None,
            inputs,
            capture.NOTHING,
            rec,
            extra,
            None,
            None,
            None,
        ]
        rec.records[step_id] = record
        return record
    except Exception:
        return None


def end(
    record: list[Any] | None,
    *,
    status_code: int | None = None,
    response: Any = capture.NOTHING,
    error: BaseException | None = None,
) -> None:
    """Finish an I/O step opened by :func:`begin` (``None``: nothing to do): completed with
    the ``response`` (and its HTTP ``status_code``), or failed with ``error``. Never
    raises."""
    if record is None:
        return
    try:
        now = perf_counter_ns()
        rec = record[R_REC]
        step_id = record[R_ID]
        if rec is None or rec.records.get(step_id) is not record:
            return  # the recording closed meanwhile: the step is already interrupted
        extra = record[R_EXTRA]
        extra["io"]["status"] = status_code
        if response is not capture.NOTHING:
            record[9] = capture.snapshot_one(response, rec.policy)
        status = COMPLETED
        if error is not None:
            status = FAILED
            message = _message(error)
            extra["error"] = (type(error), message, [], None)
        rec.records[step_id] = finished(record, status, now)
    except Exception:
        pass


def _user_location() -> tuple[str, int]:
    frame = sys._getframe(2)
    files = user_files
    while frame is not None:
        if frame.f_code.co_filename in files:
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return "", 0


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"
