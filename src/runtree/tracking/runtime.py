"""The hooks instrumented code calls: the hottest code in runtree.

See :mod:`runtree.instrument.transform` for the code that calls them. The hook names are
installed in :mod:`builtins` (dunder names are never mangled inside classes and never clash with
user names in practice), so the user's module globals stay untouched. ``__runtree_on__`` is true
only while at least one recording is open anywhere in the process; outside recordings no hook
is called at all.

A call's step is found through its frame (``step.frame is sys._getframe(1)``): no local
variable is added to user functions, and a hook that was skipped (the call started before the
recording, or a hook hit the recursion limit) can never finish somebody else's step.

Rules for everything here: never raise into user code, never add a frame to a user's
traceback, and do as little as possible on the common path.
"""

from __future__ import annotations

import builtins
import sys
import threading
from time import perf_counter_ns
from typing import Any

from .capture import IMMUTABLE_SCALARS, snapshot
from .context import get_current, set_current
from .meta import BOUND_FIRST, GENERATOR
from .step import COMPLETED, FAILED, RUNNING, Aggregate, AggregatedCall, Step, generator_steps

_getframe = sys._getframe
_exception = sys.exc_info
_new = object.__new__


def resolve_current() -> Any:
    """The step calls made now belong to (``None`` outside recordings).

    A generator that delegates with ``yield from`` to code runtree did not instrument suspends
    without running any hook, so its step can linger as "current" in the consumer's context.
    A suspended generator's frame has no ``f_back``: such a step gives way to the step that
    last resumed it.
    """
    step = get_current()
    if step is None:
        return None
    frame = step.frame
    while frame is not None and frame.f_back is None:
        step = step.resumer
        frame = step.frame
    return step


def on_enter(meta: Any, args: tuple[Any, ...]) -> None:
    """Start a step for a call of the function ``meta`` describes, with its bound ``args``."""
    parent = get_current()
    if parent is None:
        return
    frame = parent.frame
    while frame is not None and frame.f_back is None:
        parent = parent.resumer
        frame = parent.frame
    rec = parent.recording
    if rec.closed:
        return
    try:
        if type(parent) is not Step:
            _aggregate(parent.anchor, parent, meta, rec)
            return
        depth = parent.depth + 1
        if len(rec.steps) >= rec.step_budget or depth > rec.max_depth:
            _aggregate(parent, parent, meta, rec)
            return
        step = _new(Step)
        step.recording = rec
        step.meta = meta
        step.parent = parent
        step.depth = depth
        step.status = RUNNING
        if meta[4] & BOUND_FIRST and args:
            step.self_type = type(args[0])
            args = args[1:]
        for value in args:  # inlined fast path of capture.snapshot: immutable scalars
            if type(value) not in IMMUTABLE_SCALARS:
                step.inputs_snapshot = snapshot(args, rec.policy)
                break
        else:
            step.inputs_snapshot = args
        frame = _getframe(1)
        step.frame = frame
        if meta[4] & GENERATOR:
            step.resumer = parent
            generator_steps[frame] = step
        step.id = next(rec.ids)
        rec.steps.append(step)
        set_current(step)
        step.t0 = perf_counter_ns()
    except RecursionError:
        return  # too close to the recursion limit to record this call: it runs unrecorded


def _aggregate(anchor: Step, parent: Any, meta: Any, rec: Any) -> None:
    """Count and time a call past the budget under its nearest recorded step."""
    try:
        aggregates = anchor.aggregates
    except AttributeError:
        aggregates = anchor.aggregates = {}
    agg = aggregates.get(meta)
    if agg is None:
        agg = aggregates[meta] = Aggregate(meta)
    agg.count += 1
    if meta[4] & GENERATOR:
        # A generator can suspend anywhere, so it must not become "current"; it is counted,
        # not timed.
        return
    agg.active += 1
    call = _new(AggregatedCall)
    call.agg = agg
    call.anchor = anchor
    call.meta = meta
    call.recording = rec
    call.parent = parent
    call.failed = False
    call.frame = _getframe(2)
    set_current(call)
    call.t0 = perf_counter_ns()


def on_error() -> None:
    """The call's body raised: note the error on its step (``finally`` finishes it)."""
    step = resolve_current()
    if step is None or step.frame is not _getframe(1):
        return
    exc = _exception()[1]
    if exc is None:
        return
    if type(step) is not Step:
        step.failed = not isinstance(exc, GeneratorExit)
        return
    if isinstance(exc, GeneratorExit) and step.meta[4] & GENERATOR:
        return  # a generator closed early completed normally
    step.status = FAILED
    try:
        step.record_error(exc)
    except Exception as error:  # a tracking failure never breaks user code
        step.warn(f"could not record error: {type(error).__name__}: {error}")


def on_exit() -> None:
    """The call is over: finish its step and make its parent (or resumer) current."""
    end = perf_counter_ns()
    step = get_current()  # inlined resolve_current(): this is the hottest hook
    if step is None:
        return
    frame = step.frame
    while frame is not None and frame.f_back is None:
        step = step.resumer
        frame = step.frame
    if frame is not _getframe(1):
        return
    if step.recording.closed:
        return  # the recording ended while this call ran: it was marked interrupted
    step.frame = None
    if type(step) is not Step:
        agg = step.agg
        agg.active -= 1
        if agg.active == 0:
            agg.total_ns += end - step.t0
        if step.failed:
            agg.errors += 1
        set_current(step.parent)
        return
    step.duration_ns = end - step.t0
    if step.status is RUNNING:
        step.status = COMPLETED
    if step.meta[4] & GENERATOR:
        generator_steps.pop(frame, None)
        set_current(step.resumer)
    else:
        set_current(step.parent)


def on_return(value: Any) -> Any:
    """Record ``value`` as the output of the returning call's step."""
    try:
        step = get_current()
        if step is None:
            return value
        frame = step.frame
        while frame is not None and frame.f_back is None:
            step = step.resumer
            frame = step.frame
        if frame is _getframe(1) and type(step) is Step:
            if type(value) in IMMUTABLE_SCALARS:
                step.output_snapshot = (value,)
            else:
                step.output_snapshot = snapshot((value,), step.recording.policy)
    except RecursionError:
        pass
    return value


def on_yield(value: Any) -> Any:
    """A generator is about to suspend: note the item, give the context back to its resumer."""
    try:
        step = generator_steps.get(_getframe(1))
        if step is not None and not step.recording.closed:
            try:
                step.yields += 1
            except AttributeError:
                step.yields = 1
                step._first_yield = snapshot((value,), step.recording.policy)
            set_current(step.resumer)
    except RecursionError:
        pass
    return value


def on_resume(sent: Any) -> Any:
    """A generator resumed (or its ``yield from`` finished): it is current again."""
    try:
        step = generator_steps.get(_getframe(1))
        if step is not None and not step.recording.closed:
            resumer = resolve_current()
            if resumer is not None and resumer is not step:
                step.resumer = resumer
            set_current(step)
    except RecursionError:
        pass
    return sent


# --- activation ------------------------------------------------------------------------

_activation_lock = threading.Lock()
_open_recordings = 0

HOOK_NAMES: dict[str, Any] = {
    "__runtree_enter__": on_enter,
    "__runtree_error__": on_error,
    "__runtree_exit__": on_exit,
    "__runtree_return__": on_return,
    "__runtree_yield__": on_yield,
    "__runtree_resume__": on_resume,
    "__runtree_recursion_error__": RecursionError,
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
