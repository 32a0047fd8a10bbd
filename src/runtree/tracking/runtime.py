"""The hooks instrumented code calls: the hottest code in runtree.

The instrumenter rewrites every def into (roughly)::

    def f(a, b):
        with (__runtree_enter__(META, (a, b)) if __runtree_on__ else __runtree_null__):
            ...
            return (__runtree_return__(META, x) if __runtree_on__ else x)

The names are installed in :mod:`builtins` (dunder names are never mangled inside classes and
never shadow user names in practice), so the user's module globals stay untouched.
``__runtree_on__`` is true only while at least one recording is open anywhere in the process;
outside recordings the cost is one builtin lookup and two C-level no-op calls per call.

Rules for everything here: never raise into user code, never add a frame to a user's
traceback, and do as little as possible on the common path.
"""

from __future__ import annotations

import builtins
import sys
import threading
from time import perf_counter_ns
from typing import Any

from .capture import snapshot
from .context import get_current, set_current
from .meta import BOUND_FIRST, FLAGS, GENERATOR
from .step import RUNNING, Aggregate, AggregatedCall, Step, generator_steps

_getframe = sys._getframe
_new = object.__new__


class _NullCall:
    """Entered for every call made outside a recording: both halves are C no-ops."""

    __slots__ = ()
    __enter__ = "".format
    __exit__ = "".format  # returns "" (falsy): exceptions propagate unchanged


NULL_CALL = _NullCall()


def resolve_current() -> Any:
    """The step calls made now belong to.

    A generator that delegates with ``yield from`` to code runtree did not instrument suspends
    without running any runtime hook, so its step can linger as "current" in the consumer's
    context. A suspended generator's frame has no ``f_back``: such a step is skipped in favour of
    the step that last resumed it.
    """
    step = get_current()
    if step is None:
        return None
    frame = step.frame
    while frame is not None and frame.f_back is None:
        step = step.resumer
        frame = step.frame
    return step


def on_enter(meta: Any, args: tuple[Any, ...]) -> Any:
    """Start a step for a call of the function described by ``meta`` with bound ``args``."""
    parent = get_current()
    if parent is None:
        return NULL_CALL
    frame = parent.frame
    while frame is not None and frame.f_back is None:
        parent = parent.resumer
        frame = parent.frame
    rec = parent.recording
    if rec.closed:
        return NULL_CALL
    if type(parent) is not Step:
        return _aggregate(parent.anchor, parent, meta, rec)
    depth = parent.depth + 1
    if len(rec.steps) >= rec.step_budget or depth > rec.max_depth:
        return _aggregate(parent, parent, meta, rec)
    step = _new(Step)
    step.recording = rec
    step.meta = meta
    step.parent = parent
    step.depth = depth
    step.status = RUNNING
    flags = meta[4]
    if flags & BOUND_FIRST and args:
        step.self_type = type(args[0])
        args = args[1:]
    step.inputs_snapshot = snapshot(args, rec.policy)
    if flags & GENERATOR:
        frame = _getframe(1)
        step.frame = frame
        step.resumer = parent
        generator_steps[frame] = step
    else:
        step.frame = None
    step.id = next(rec.ids)
    rec.steps.append(step)
    set_current(step)
    step.t0 = perf_counter_ns()
    return step


def _aggregate(anchor: Step, parent: Any, meta: Any, rec: Any) -> Any:
    """Count and time a call past the budget under its nearest recorded step."""
    try:
        aggregates = anchor.aggregates
    except AttributeError:
        aggregates = anchor.aggregates = {}
    agg = aggregates.get(meta)
    if agg is None:
        agg = aggregates[meta] = Aggregate(meta)
    agg.count += 1
    agg.active += 1
    call = _new(AggregatedCall)
    call.agg = agg
    call.anchor = anchor
    call.meta = meta
    call.recording = rec
    call.frame = None
    if meta[FLAGS] & GENERATOR:
        # A generator can suspend anywhere; it must not stay "current". Calls it makes are
        # attributed to whoever runs it, which is past the budget as well.
        call.parent = None
    else:
        call.parent = parent
        set_current(call)
    call.t0 = perf_counter_ns()
    return call


def on_return(meta: Any, value: Any) -> Any:
    """Record ``value`` as the output of the current step if it is this function's."""
    step = get_current()
    if step is not None:
        frame = step.frame
        while frame is not None and frame.f_back is None:
            step = step.resumer
            frame = step.frame
        if step.meta is meta and type(step) is Step:
            step.output_snapshot = snapshot((value,), step.recording.policy)
    return value


def on_yield(meta: Any, value: Any) -> Any:
    """A generator is about to suspend: note the item, give the context back to its resumer."""
    step = generator_steps.get(_getframe(1))
    if step is not None and not step.recording.closed:
        try:
            step.yields += 1
        except AttributeError:
            step.yields = 1
            step._first_yield = snapshot((value,), step.recording.policy)
        set_current(step.resumer)
    return value


def on_resume(meta: Any, sent: Any) -> Any:
    """A generator resumed (or its ``yield from`` finished): it is current again."""
    step = generator_steps.get(_getframe(1))
    if step is not None and not step.recording.closed:
        resumer = resolve_current()
        if resumer is not None and resumer is not step:
            step.resumer = resumer
        set_current(step)
    return sent


# --- activation ------------------------------------------------------------------------

_activation_lock = threading.Lock()
_open_recordings = 0

HOOK_NAMES = {
    "__runtree_enter__": on_enter,
    "__runtree_return__": on_return,
    "__runtree_yield__": on_yield,
    "__runtree_resume__": on_resume,
    "__runtree_null__": NULL_CALL,
}
FLAG_NAME = "__runtree_on__"


def install_hooks() -> None:
    """Make the hook names resolvable from any module (idempotent)."""
    for name, hook in HOOK_NAMES.items():
        setattr(builtins, name, hook)
    if not hasattr(builtins, FLAG_NAME):
        setattr(builtins, FLAG_NAME, False)


def recording_opened() -> None:
    global _open_recordings
    with _activation_lock:
        _open_recordings += 1
        if _open_recordings == 1:
            from . import output, threads

            threads.install()
            output.install()
            setattr(builtins, FLAG_NAME, True)


def recording_closed() -> None:
    global _open_recordings
    with _activation_lock:
        _open_recordings -= 1
        if _open_recordings == 0:
            from . import output, threads

            setattr(builtins, FLAG_NAME, False)
            output.uninstall()
            threads.uninstall()


install_hooks()
