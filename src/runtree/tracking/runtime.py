"""The hooks instrumented code calls: the hottest code in runtree.

See :mod:`runtree.instrument.transform` for the code that calls them. The rewrite names them
(``__runtree_enter__``, ...), and :mod:`runtree.instrument.binding` then makes every such name
in the compiled code a constant holding the object in :data:`HOOKS`: instrumented code looks
nothing up in its globals or builtins (so it runs with any ``__builtins__`` mapping), and
neither the user's module globals nor :mod:`builtins` are touched. ``__runtree_on__`` is
:data:`FLAG`, true only while at least one recording is open anywhere in the process; outside
recordings no hook is called at all.

**Which record is a call's own.** A running record keeps its call's frame (the C hooks keep an
aggregated call's frame address instead, see ``_hooks.c``); the exit and error hooks compare
it with their caller's frame, so a hook that was skipped (the call began before
the recording, or a hook did not fit on the stack near the recursion limit) can never finish
somebody else's record. The return hook, the hottest after enter, compares metas instead
(the function's constant tuple): cheaper, and at worst it would misplace an output in those
same rare cases. A recursive call past the budget counts in its caller's row, with a record
of its own (its identity); only the outermost running call of a row reads the clock.

Rules for everything here: never raise into user code, never add a frame to a user's
traceback, and do as little as possible on the common path.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

from . import accelerator
from .budget import FAIR_SHARE, aggregate_row, child_path, crosses_module, path_of, promote
from .capture import IMMUTABLE_SCALARS, NOTHING, snapshot, snapshot_one
from .context import get_holder, holder_var, set_holder
from .meta import ASYNC, BOUND_FIRST, GENERATOR
from .records import AGGREGATED_ID, COMPLETED, FAILED, extra_of, finished

_getframe = sys._getframe
# The holder read again by a hook that found one (a coroutine left by a driver may have given
# the enclosing holder back, see _skip_suspended): a list then, never None.
_holder_again: Callable[[], list[Any]] = get_holder  # type: ignore[assignment]
_exception = sys.exc_info
_IMMUTABLE = IMMUTABLE_SCALARS

# Frames of running-or-suspended instrumented generators -> their record (see on_resume), and
# of coroutines driven by hand once they were left suspended (see _left_by_hand).
generator_records: dict[Any, list[Any]] = {}

# Record fields are accessed by literal position below for speed; see records.py:
# 0 META 1 PARENT 2 DEPTH 3 ID 4 STATUS 5 T0 6 FAST (the frame of a plain call, else None)
# 7 GEN (the frame of a generator or coroutine: a call that can suspend) 8 INPUTS 9 OUTPUT
# 10 REC 11 EXTRA 12 RESUMER (generators, and coroutines left by a driver) or the Token of the
# coroutine's own holder (its old_value: the enclosing holder) 13 FRAME (every running call's
# frame) 14 PATH (its budget.CallPath, or None).
# Aggregated calls: 4 Aggregate, 8 failed flag (see budget.py for who gets a step).


def _skip_suspended(record: list[Any]) -> list[Any]:
    """A generator that delegates with ``yield from`` to code runtree did not instrument
    suspends without running any hook, so its record can linger as "current" in the
    consumer's context. A suspended generator's frame has no ``f_back``: such a record gives
    way to the record that last resumed it.

    A coroutine suspends at an ``await`` without a hook too. Run by an asyncio task, it does so
    in the task's context, which is left with it; driven by hand (``send``, ``throw``), in the
    driver's, whose calls would then nest under it: there it gives the enclosing holder back
    (see :func:`_left_by_hand`) and is treated as a generator from then on. A hook may so
    change this context's holder: callers that write to the holder read it again."""
    while record[7] is not None and record[7].f_back is None:
        resumer = record[12]
        if type(resumer) is list:
            record = resumer
            continue
        enclosing = _left_by_hand(record, resumer)
        if enclosing is None:
            break
        record = enclosing[0]
    return record


def _left_by_hand(record: list[Any], token: Any) -> list[Any] | None:
    """The enclosing holder, given back, when the suspended coroutine of ``record`` installed
    its holder (``token``) in this very context: it was driven by hand and left there. ``None``
    in any other context (a copy made while it ran: ``asyncio.to_thread``, a callback, a task
    it created), where its calls still belong to it.

    ``ContextVar.reset`` is the test: it refuses a token of another context. From then on the
    coroutine is handled as a generator: its record is found by its frame when a call it makes
    after a later ``send`` walks the stack (:func:`_running_generator_between`), its resumer is
    the record the driver had."""
    try:
        holder_var.reset(token)
    except (ValueError, RuntimeError):
        return None
    enclosing: list[Any] = token.old_value
    record[12] = enclosing[0]
    generator_records[record[7]] = record
    return enclosing


def _resumed_by_hand(frame: Any, current: list[Any]) -> list[Any] | None:
    """The record of a coroutine left by its driver (see :func:`_left_by_hand`) whose call in
    ``frame`` ends though ``current`` is current: a later ``send`` resumed it and no hook ran
    since (``return await x``). Its resumer is noted as the walk of a call it made would."""
    record = generator_records.get(frame)
    if record is None or record[0][4] & GENERATOR or record[10] is not current[10]:
        return None
    record[12] = _running_generator_between(frame.f_back, current)
    return record


def resolve_current(depth: int = 1) -> Any:
    """The record what runs now belongs to (``None`` outside recordings): where printed
    output and I/O steps go. It is the parent a call made here would get (see
    :func:`_true_parent`): a generator or a coroutine driven by hand resumed without a hook
    (``yield from`` uninstrumented code; a ``send`` past an ``await``) that has made no call
    since is found by the same stack walk, which runs only while instrumented generators or
    coroutines left by a driver are alive (plain code pays one dict test). ``depth``: where
    the walk starts, as for ``sys._getframe`` from here (default: the caller's frame)."""
    holder = get_holder()
    if holder is None:
        return None
    record = holder[0]
    if record[7] is not None:
        record = _skip_suspended(record)
    if generator_records:
        # _running_generator_between's walk, inlined up to the first frame of an instrumented
        # generator: printing walks this for every write while one is alive.
        stop = record[13]
        try:
            frame: Any = _getframe(depth)
        except ValueError:  # no such frame: none to walk
            return record
        while frame is not None and frame is not stop:
            if frame in generator_records:
                return _running_generator_between(frame, record)
            frame = frame.f_back
    return record


def on_enter(meta: Any, *args: Any) -> None:
    """Start a step for a call of the function ``meta`` describes, with its bound ``args``
    (one argument per parameter: see :mod:`runtree.instrument.transform`)."""
    holder = get_holder()
    if holder is None:
        return
    parent = holder[0]
    try:
        frame = _getframe(1)
        if parent[7] is not None or generator_records:  # else _true_parent keeps parent
            parent = _true_parent(parent, frame)
            holder = _holder_again()
        rec = parent[10]
        if rec.slots_left <= 0 or parent[3] < 0 or parent[2] >= rec.max_depth:
            _enter_slow(meta, holder, parent, rec, args, frame)
            return
        flags = meta[4]
        if flags:
            _enter_special(meta, holder, parent, rec, args, flags, frame)
            rec.slots_left -= 1
            return
        # The inlined fast path of capture.snapshot: immutable scalars are kept as they are.
        # (An index loop: iterating would allocate an iterator, and allocations cost GC time.)
        inputs: Any = args
        index = len(args)
        while index:
            index -= 1
            if type(args[index]) not in _IMMUTABLE:
                inputs = snapshot(args, rec.policy)
                break
        record = [
            meta,
            parent,
            parent[2] + 1,
            0,
            "running",
            perf_counter_ns(),
            frame,
            None,
            inputs,
            NOTHING,
            rec,
            None,
            None,
            frame,
            None,
        ]
        # The last call that can fail: from here on no id is used up by a failed hook.
        record[3] = ident = next(rec.ids)
        rec.slots_left -= 1
        rec.records[ident] = record
        holder[0] = record
    except RecursionError:
        return  # too close to the recursion limit to record this call: it runs unrecorded
    except Exception as error:  # a tracking failure never breaks user code
        _internal_error(parent, error)


def _true_parent(parent: list[Any], frame: Any) -> list[Any]:
    """The parent of a call made from ``frame`` when the current record is a generator's or
    instrumented generators are alive (otherwise it is ``parent`` itself)."""
    if parent[7] is not None:
        parent = _skip_suspended(parent)
    caller = frame.f_back
    if generator_records and caller is not parent[13]:
        parent = _running_generator_between(caller, parent)
    return parent


def _running_generator_between(caller: Any, parent: list[Any]) -> list[Any]:
    """The record a call belongs to when its caller is not ``parent``'s frame.

    A generator delegating with ``yield from`` to code runtree did not instrument (a generator
    expression, a library iterator) is running -- its frame is on the stack between ``parent``
    and the call -- but no hook ran when it was resumed, so it is not current. The nearest
    instrumented generator frame on the stack, if any, is the real parent.

    The resumers of such generators are noted here too, as on_resume would have: each one's is
    the next such generator down the stack, the last one's ``parent``. Otherwise the record
    left current when this call ends (the generator's) would give way to a stale resumer once
    the generator suspends -- again without a hook -- and the call that resumed it could not
    find its own record to finish.
    """
    stop = parent[13]
    rec = parent[10]
    found = last = None
    frame = caller
    while frame is not None and frame is not stop:
        record = generator_records.get(frame)
        if record is not None and record is not parent and record[10] is rec:
            if last is None:
                found = record
            else:
                last[12] = record
            last = record
        frame = frame.f_back
    if last is None or found is None:
        return parent
    last[12] = parent
    return found


def _internal_error(parent: Any, error: Exception) -> None:
    """A bug in runtree: keep the user's code running, and say so on the recording."""
    try:
        parent[10].internal_errors.append(f"{type(error).__name__}: {error}")
    except Exception:
        pass


def _enter_slow(
    meta: Any, holder: list[Any], parent: list[Any], rec: Any, args: tuple[Any, ...], frame: Any
) -> None:
    """A call once the general pool is spent, or under an aggregated call, or too deep, or
    after closing: a step paid from the reserve, or aggregated (see :mod:`.budget`)."""
    if rec.closed:
        return
    path = None
    if rec.reserve_left > 0 and parent[2] < rec.max_depth:
        path = parent[14]
        if path is None or path.meta is not meta:  # (a recursive call: its caller's path)
            path = child_path(path_of(parent, rec), meta, rec)
        wanted = path.kept < FAIR_SHARE or crosses_module(parent, meta)
        if wanted and (parent[3] >= 0 or promote(parent, rec, 1)):
            path.kept += 1
            _start_step(meta, holder, parent, rec, args, frame, path)
            rec.reserve_left -= 1
            return
    _aggregate(holder, parent, meta, rec, frame, path)


def _start_step(
    meta: Any,
    holder: list[Any],
    parent: list[Any],
    rec: Any,
    args: tuple[Any, ...],
    frame: Any,
    path: Any,
) -> None:
    """A step for this call (the budget said yes): the general form of on_enter's fast path."""
    flags = meta[4]
    if flags:
        _enter_special(meta, holder, parent, rec, args, flags, frame, path)
        return
    inputs = args if _IMMUTABLE.issuperset(map(type, args)) else snapshot(args, rec.policy)
    record = [
        meta,
        parent,
        parent[2] + 1,
        0,
        "running",
        perf_counter_ns(),
        frame,
        None,
        inputs,
        NOTHING,
        rec,
        None,
        None,
        frame,
        path,
    ]
    record[3] = ident = next(rec.ids)
    rec.records[ident] = record
    holder[0] = record


def _enter_special(
    meta: Any,
    holder: list[Any],
    parent: list[Any],
    rec: Any,
    args: tuple[Any, ...],
    flags: int,
    frame: Any,
    path: Any = None,
) -> None:
    """Methods (``self`` captured by type only), generators and coroutines."""
    extra = None
    if flags & BOUND_FIRST and args:
        extra = {"self_type": type(args[0])}
        args = args[1:]
    inputs = args if _IMMUTABLE.issuperset(map(type, args)) else snapshot(args, rec.policy)
    ident = next(rec.ids)
    plain = not flags & (GENERATOR | ASYNC)
    record = [
        meta,
        parent,
        parent[2] + 1,
        ident,
        "running",
        0,
        frame if plain else None,
        None,
        inputs,
        NOTHING,
        rec,
        extra,
        None,
        frame,
        path,
    ]
    rec.records[ident] = record
    if flags & GENERATOR:
        record[7] = frame
        record[12] = parent  # the resumer, until another step resumes it
        generator_records[frame] = record
        record[5] = perf_counter_ns()
        holder[0] = record
    elif flags & ASYNC:
        # A coroutine can be suspended while others run in the same thread: it gets a holder
        # of its own, and gives the enclosing one back when it ends (the token's old_value;
        # see _skip_suspended for one driven by hand).
        record[7] = frame
        record[5] = perf_counter_ns()
        record[12] = set_holder([record])
    else:
        record[5] = perf_counter_ns()
        holder[0] = record


def _aggregate(
    holder: list[Any], parent: list[Any], meta: Any, rec: Any, frame: Any, path: Any
) -> None:
    """Count and time a call past the budget under its true parent."""
    row = parent[4]  # a recursive call in an aggregated one counts in its caller's row
    if parent[3] != AGGREGATED_ID or row.meta is not meta:
        row = aggregate_row(parent, meta, rec)
    row.count += 1
    if meta[4] & (GENERATOR | ASYNC):
        return  # can suspend anywhere, so never current: counted, not timed
    row.active += 1
    # Only the outermost running call of a row makes its total time: a call nested in one
    # starts its record with its caller's start (no clock read; an upper bound if promoted).
    t0 = parent[5] if row.active > 1 else perf_counter_ns()
    holder[0] = [
        meta,
        parent,
        parent[2] + 1,
        AGGREGATED_ID,
        row,
        t0,
        None,
        None,
        False,
        None,
        rec,
        None,
        None,
        frame,
        path,
    ]


def on_error(meta: Any, frame: Any = None) -> None:
    """The call's body raised: note the error on its record (``finally`` finishes it)."""
    if frame is None:
        frame = _getframe(1)
    holder = get_holder()
    if holder is None:
        return
    record = holder[0]
    if record[7] is not None:
        record = _skip_suspended(record)
    exc = _exception()[1]
    if exc is None:
        return
    if record[13] is not frame:
        own = _resumed_by_hand(frame, record) if generator_records else None
        if own is None:
            return
        record = own
    if record[3] < 0:
        if isinstance(exc, GeneratorExit):
            return
        if not _keep_error_path(record):
            record[8] = True
            return
    if isinstance(exc, GeneratorExit) and meta[4] & GENERATOR:
        return  # a generator closed early completed normally
    record[4] = FAILED
    try:
        record[10].record_error(record, exc)
    except Exception as error:  # a tracking failure never breaks user code
        extra_of(record).setdefault("warnings", []).append(
            f"could not record error: {type(error).__name__}: {error}"
        )


def _keep_error_path(record: list[Any]) -> bool:
    """An aggregated call failed: make it and its aggregated callers steps if the budget's
    error allowance for its call path and the reserve allow (see :mod:`.budget`)."""
    try:
        rec = record[10]
        if rec.reserve_left <= 0 or rec.closed:
            return False
        path = record[14]
        if path is None:
            path = path_of(record, rec)
        if path.errors_kept >= FAIR_SHARE or not promote(record, rec, 0):
            return False
        path.errors_kept += 1
        return True
    except Exception as error:  # a tracking failure never breaks user code
        _internal_error(record, error)
        return False


def _own_record(
    holder: list[Any], meta: Any, frame: Any, end: int, failing: BaseException | None = None
) -> tuple[list[Any], list[Any]] | None:
    """The holder to finish it in and the running record of the call in ``frame``, or
    ``None`` (no record, or a counted-only recursive call past the budget, whose end is
    counted here)."""
    record: list[Any] = holder[0]
    if record[7] is not None:
        record = _skip_suspended(record)
        holder = _holder_again()
    if record[13] is frame:
        return holder, record
    if generator_records:
        own = _resumed_by_hand(frame, record)
        if own is not None:
            return holder, own
    found = _close_unfinished_below(holder, record, frame, end, failing)
    return None if found is None else (holder, found)


def _finish(holder: list[Any], record: list[Any], end: int) -> None:
    """End a running record: the finished tuple replaces it, its parent becomes current."""
    rec = record[10]
    if rec.closed:
        return  # the recording ended while this call ran: it was marked interrupted
    parent = record[1]
    ident = record[3]
    record[6] = record[13] = None
    if ident < 0:
        agg = record[4]
        agg.active -= 1
        if agg.active == 0:
            agg.total_ns += end - record[5]
        if record[8]:
            agg.errors += 1
        holder[0] = parent
        return
    meta = record[0]
    status = record[4] = COMPLETED if record[4] == "running" else record[4]
    flags = meta[4]
    if flags & GENERATOR:
        generator_records.pop(record[7], None)
        record[7] = None
        holder[0] = record[12]
    elif flags & ASYNC:
        resumer = record[12]
        if type(resumer) is list:  # left by a driver once: now current in the driver's holder
            generator_records.pop(record[7], None)
            holder[0] = resumer
        else:
            set_holder(resumer.old_value)
        record[7] = None
    else:
        holder[0] = parent
    rec.records[ident] = finished(record, status, end)


def on_exit(meta: Any, frame: Any = None, end: int | None = None) -> None:
    """The call is over (a ``finally``: functions whose returns can run cleanup code).
    ``frame`` and ``end``: given by the C hooks, which call this for the uncommon cases."""
    if end is None:
        end = perf_counter_ns()
    holder = get_holder()
    if holder is None:
        return
    if frame is None:
        frame = _getframe(1)
    found = _own_record(holder, meta, frame, end)
    if found is not None:
        _finish(*found, end)


def on_done(meta: Any, value: Any) -> Any:
    """The call returns ``value`` and nothing of it runs after this (functions whose returns
    are outside ``finally`` and ``with``): record the output and finish, in one hook."""
    end = perf_counter_ns()
    try:
        holder = get_holder()
        if holder is None:
            return value
        record = holder[0]
        frame = _getframe(1)
        if record[6] is not frame:  # not a plain call's own record: the general path
            if record[13] is frame and record[3] == AGGREGATED_ID:
                _finish(holder, record, end)  # what _done_slow does for it, sooner
            else:
                _done_slow(holder, record, meta, value, frame, end)
            return value
        # The common case, inlined: a plain function's record, current in its holder.
        output = value if type(value) in _IMMUTABLE else snapshot_one(value, record[10].policy)
        parent = record[1]
        ident = record[3]
        record[6] = record[13] = None
        record[4] = COMPLETED
        holder[0] = parent
        t0 = record[5]
        # records.finished(), inlined: the finished tuple holds no references to other records.
        record[10].records[ident] = (
            meta,
            parent[3] or None,
            record[2],
            ident,
            COMPLETED,
            t0,
            end - t0,
            None,
            record[8],
            output,
            None,
            record[11],
            None,
            None,
            None,
        )
    except RecursionError:
        pass
    return value


def _done_slow(
    holder: list[Any], record: list[Any], meta: Any, value: Any, frame: Any, end: int
) -> None:
    found = _own_record(holder, meta, frame, end)
    if found is None:
        return
    holder, own = found
    if own[3] > 0:
        own[9] = value if type(value) in _IMMUTABLE else snapshot_one(value, own[10].policy)
    _finish(holder, own, end)


def on_fail(meta: Any, frame: Any = None, end: int | None = None) -> None:
    """The call's body raised, and nothing of it runs after this: record and finish.
    ``frame`` and ``end``: given by the C hooks, which call this."""
    if end is None:
        end = perf_counter_ns()
    holder = get_holder()
    if holder is None:
        return
    if frame is None:
        frame = _getframe(1)
    on_error(meta, frame)
    exc = _exception()[1]
    found = _own_record(holder, meta, frame, end, exc)
    if found is None:
        return
    holder, record = found
    closed_generator = isinstance(exc, GeneratorExit) and meta[4] & GENERATOR
    if record[3] > 0 and record[4] == "running" and exc is not None and not closed_generator:
        # on_error could not see this record yet (callees left unfinished near the
        # recursion limit were closed only now): record the error here.
        record[4] = FAILED
        try:
            record[10].record_error(record, exc)
        except Exception:
            pass
    _finish(holder, record, end)


def _close_unfinished_below(
    holder: list[Any],
    record: list[Any],
    frame: Any,
    end: int,
    failing: BaseException | None = None,
) -> list[Any] | None:
    """Find this frame's record above ``record``; close the records in between.

    Near the recursion limit a hook can be skipped (calling it would overflow the stack), so
    a callee's record may still be current when its caller ends. Those callees are over: they
    are finished here with a warning, so one skipped hook never corrupts the rest of the tree.
    ``failing``: the exception the caller is failing with -- it came through those callees.
    """
    chain = []
    node = record
    while node[3] > 0 and node[13] is not frame:
        if node[7] is not None:
            return None  # a generator in between: not provably over, leave the tree as it is
        chain.append(node)
        node = node[1]
    if node[3] <= 0:
        return None
    for skipped in chain:
        skipped[6] = skipped[13] = None
        status = FAILED if skipped[4] == FAILED or failing is not None else COMPLETED
        if failing is not None and (skipped[11] or {}).get("error") is None:
            extra_of(skipped)["error"] = (type(failing), _message(failing), [], None)
        extra_of(skipped).setdefault("warnings", []).append(
            "the end of this call was not observed (recursion limit): its duration is an "
            "upper bound"
        )
        skipped[10].records[skipped[3]] = finished(skipped, status, end)
    holder[0] = node
    return node


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


def on_return(meta: Any, value: Any) -> Any:
    """Record ``value`` as the output of the returning call's step (functions that finish in
    ``finally``; the identity check by meta is cheap and at worst misplaces an output near
    the recursion limit)."""
    try:
        holder = get_holder()
        if holder is None:
            return value
        record = holder[0]
        if record[7] is not None:
            record = _skip_suspended(record)
        if record[0] is not meta and generator_records:
            record = _resumed_by_hand(_getframe(1), record) or record
        if record[0] is meta and record[3] > 0:
            if type(value) in _IMMUTABLE:
                record[9] = value
            else:
                record[9] = snapshot_one(value, record[10].policy)
    except RecursionError:
        pass
    return value


def on_yield(value: Any, frame: Any = None) -> Any:
    """A generator is about to suspend: note the item, give the context back to its resumer.
    ``frame``: the generator's, given by the C hooks."""
    try:
        record = generator_records.get(frame if frame is not None else _getframe(1))
        if record is not None and not record[10].closed:
            extra = extra_of(record)
            count = extra.get("yields", 0)
            if count == 0:
                extra["first_yield"] = snapshot_one(value, record[10].policy)
            extra["yields"] = count + 1
            holder = get_holder()
            if holder is not None:
                holder[0] = record[12]
    except RecursionError:
        pass
    return value


def on_resume(sent: Any, frame: Any = None) -> Any:
    """A generator resumed (or its ``yield from`` finished): it is current again.
    ``frame``: the generator's, given by the C hooks."""
    try:
        record = generator_records.get(frame if frame is not None else _getframe(1))
        if record is not None and not record[10].closed:
            holder = get_holder()
            if holder is None:  # resumed from a context without a recording (a new thread)
                set_holder([record])
                return sent
            resumer = holder[0]
            if resumer[7] is not None:
                resumer = _skip_suspended(resumer)
                holder = _holder_again()
            if resumer is not record:
                record[12] = resumer
            holder[0] = record
    except RecursionError:
        pass
    return sent


# --- activation ------------------------------------------------------------------------


class RecordingFlag(list[bool]):
    """The type of :data:`FLAG`: true while it holds an item.

    Instrumented code tests the flag as a constant (``if __runtree_on__:``), so it must be
    one object whose truth changes: a ``list`` subclass, whose truth test runs in C
    (``len``). It hashes by identity, so ``hash()`` of code objects works as before (``==``
    of code objects compares such constants by identity anyway), and pickles by reference
    (a ``dill`` copy of instrumented code shares it)."""

    __slots__ = ()
    __hash__ = object.__hash__  # type: ignore[assignment]

    def __reduce__(self) -> str:
        return "FLAG"

    def __repr__(self) -> str:
        return f"<runtree recording flag: {'on' if self else 'off'}>"


FLAG = RecordingFlag()
"""``__runtree_on__``: true while a recording is open in this process."""

_activation_lock = threading.Lock()
_open_recordings = 0

PYTHON_HOOKS: dict[str, Any] = {
    "__runtree_enter__": on_enter,
    "__runtree_error__": on_error,
    "__runtree_exit__": on_exit,
    "__runtree_done__": on_done,
    "__runtree_fail__": on_fail,
    "__runtree_return__": on_return,
    "__runtree_yield__": on_yield,
    "__runtree_resume__": on_resume,
}
# The hooks in use: the C accelerator's when it is built (see accelerator.py), else these.
ACTIVE_RUNTIME, _ACTIVE_HOOKS = accelerator.select(sys.modules[__name__], PYTHON_HOOKS)
FLAG_NAME = "__runtree_on__"
HOOKS: dict[str, Any] = {
    **_ACTIVE_HOOKS,
    "__runtree_recursion_error__": RecursionError,
    "__runtree_base_exception__": BaseException,
    FLAG_NAME: FLAG,
}
"""Each name instrumented code uses -> the object it is bound to (see
:mod:`runtree.instrument.binding`)."""


def recording_opened() -> None:
    global _open_recordings
    with _activation_lock:
        _open_recordings += 1
        if _open_recordings == 1:
            from . import output, threads

            accelerator.configure_once()
            threads.install()
            output.install()
            FLAG.append(True)


def recording_closed() -> None:
    global _open_recordings
    with _activation_lock:
        _open_recordings -= 1
        if _open_recordings == 0:
            from . import output, threads

            FLAG.clear()
            output.uninstall()
            threads.uninstall()
