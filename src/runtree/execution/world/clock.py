"""The wall clock of a run, recorded or replayed.

While installed, the wall-clock reads of the standard library -- ``time.time``,
``time.time_ns``, ``time.localtime``/``gmtime``/``strftime`` without a time argument,
``time.clock_gettime(CLOCK_REALTIME)``, ``datetime.datetime.now/utcnow/today`` and
``datetime.date.today`` -- read :meth:`Clock.now_ns`: recording, it reads the real clock and
keeps each value (up to ``limit`` reads, then counts them); replaying, it hands out the
recorded values in order and, past them, goes on from the last one by the real time elapsed
since it was handed out.

The reads are intercepted by time-machine (a maintained library made for this), which
patches the C functions behind them. Nothing in ``time`` or ``datetime`` is replaced by a
stand-in, so user code sees exactly the real objects: ``type(now) is datetime.datetime``,
pickling a date, subclassing ``datetime.date`` and ``time.time.__module__`` all behave as
without runtree (replacing the classes, as freezegun does, breaks each of those). Reads made
by runtree's own modules (step times), and reads made while a module is imported (see
:mod:`.importing`), are answered by the real clock and never recorded.
Monotonic clocks (``time.monotonic``, ``perf_counter``, ``process_time``) measure durations
and are neither recorded nor replayed; neither are ``time.ctime()``/``asctime()`` without an
argument (they read the C clock directly).
"""

from __future__ import annotations

import importlib
import sys
import time as _time_module
from collections.abc import Callable
from typing import Any

from ...tracking import recording as _recording
from .importing import importing
from .imports import unittest_stand_in, without

# Not its pytest fixture nor its date parser, nor unittest: see .imports.
with without(), unittest_stand_in():
    import time_machine

# time-machine's C module: patch()/unpatch() and the real functions (it ships no type stubs).
_time_machine: Any = importlib.import_module("_time_machine")
# The real clock while the patches are in: ``time.time_ns`` itself would ask the clock back.
_real_time_ns: Callable[[], int] = _time_machine.original_time_ns
_real_perf_ns = _time_module.perf_counter_ns
_OWN_MODULES = "runtree."

NS = 1_000_000_000

# The clock the installed functions read (one per process: a worker runs one execution).
_current: Clock | None = None


class Clock:
    """The wall-clock reads of one run: ``recorded`` values to hand out (replay), or none
    (record). ``reads`` are the values read, in order, kept up to ``limit``."""

    def __init__(self, recorded: list[int] | None = None, limit: int = 100_000) -> None:
        self.replaying = recorded is not None
        self.recorded = recorded or []
        self.limit = limit
        self.reads: list[int] = []
        self.count = 0  # reads in all (also past the limit)
        self._last = (0, 0)  # the last value handed out, and the real monotonic time then

    def now_ns(self) -> int:
        count = self.count
        self.count = count + 1
        if self.replaying:
            if count < len(self.recorded):
                value = self.recorded[count]
                self._last = (value, _real_perf_ns())
                return value
            if self.recorded:
                last, at = self._last
                return last + (_real_perf_ns() - at)
            return _real_time_ns()
        value = _real_time_ns()
        if count < self.limit:
            self.reads.append(value)
        return value


def _now_ns() -> int:
    clock = _current
    return _real_time_ns() if clock is None else clock.now_ns()


class _ClockTraveller(time_machine.Traveller):
    """What time-machine's patched functions ask for the time (its traveller protocol)."""

    def __init__(self) -> None:
        super().__init__(0, None, True)

    def time_ns(self) -> int:
        # The frame that called the patched C function: runtree's own reads stay real, and
        # so do reads made while a module is imported (see .importing).
        caller = sys._getframe(1)
        name = caller.f_globals.get("__name__", "")
        if (type(name) is str and name.startswith(_OWN_MODULES)) or importing(caller):
            return _real_time_ns()
        return _now_ns()


_traveller: _ClockTraveller | None = None
_held = False  # hold(): the patches stay in between runs


# What runtree's recording reads for its steps' start times while the patches are in.
_steps_wall_ns = _recording._wall_ns


def install(clock: Clock) -> None:
    """Make the wall-clock reads read ``clock`` (until :func:`uninstall`)."""
    global _current, _traveller
    _current = clock
    if _traveller is not None:
        return
    _traveller = _ClockTraveller()
    if not time_machine.traveller_stack:
        _time_machine.patch()
    time_machine.traveller_stack.append(_traveller)
    # The steps' start times (two reads a run, and the spare's warm-up job's) read the real
    # clock directly: through the patched function each would call the traveller, look at
    # its caller's frame and be answered by the real clock all the same.
    _recording._wall_ns = _real_time_ns


def hold() -> None:
    """Patch the clock functions now and keep them patched (a recording zygote, before it
    forks): :func:`install` and :func:`uninstall` then only change which clock is read, and
    in between the real one is. A child so saves writing the patches into its copy of the
    zygote's memory, and undoing them, at every run; :func:`release` takes them out."""
    global _held
    install(Clock(None, 0))
    _held = True
    uninstall()


def release() -> None:
    """Take out what :func:`hold` keeps (a run that records nothing gets the real functions)."""
    global _held
    _held = False
    uninstall()


def uninstall() -> None:
    """Put the real clock back (the real reads, with the patches kept while held)."""
    global _current, _traveller
    _current = None
    if _traveller is None or _held:
        return
    if _traveller in time_machine.traveller_stack:
        time_machine.traveller_stack.remove(_traveller)
    _traveller = None
    _recording._wall_ns = _steps_wall_ns
    if not time_machine.traveller_stack:
        _time_machine.unpatch()
