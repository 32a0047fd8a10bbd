"""The wall clock of a run, recorded or replayed.

While installed, ``time.time``, ``time.time_ns``, ``time.localtime``, ``time.gmtime``,
``time.ctime``, ``time.asctime``, ``time.strftime`` (without a time argument),
``datetime.datetime.now/utcnow/today`` and ``datetime.date.today`` read :meth:`Clock.now_ns`:
recording, it reads the real clock and keeps each value (up to ``limit`` reads, then counts
them); replaying, it hands out the recorded values in order and, past them, goes on from
the last one by the real time elapsed since it was handed out.

``datetime.datetime`` and ``datetime.date`` are replaced by subclasses for code that looks
them up while installed (``from datetime import datetime`` in a function's module too);
their constructors and class methods return the real types, and ``isinstance`` with them
answers for the real types, so values are exactly what they would have been.
Monotonic clocks (``time.monotonic``, ``perf_counter``, ``process_time``) measure durations
and are neither recorded nor replayed.
"""

from __future__ import annotations

import datetime as _datetime_module
import sys
import time as _time_module
import warnings
from collections.abc import Callable
from typing import Any

_real_time_ns = _time_module.time_ns
_real_perf_ns = _time_module.perf_counter_ns
_real_localtime = _time_module.localtime
_real_gmtime = _time_module.gmtime
_real_ctime = _time_module.ctime
_real_asctime = _time_module.asctime
_real_strftime = _time_module.strftime
_RealDatetime = _datetime_module.datetime
_RealDate = _datetime_module.date
_UTC = _datetime_module.UTC

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


def _seconds() -> float:
    return _now_ns() / NS


def time() -> float:
    return _now_ns() / NS


def time_ns() -> int:
    return _now_ns()


def localtime(secs: float | None = None) -> _time_module.struct_time:
    return _real_localtime(_seconds() if secs is None else secs)


def gmtime(secs: float | None = None) -> _time_module.struct_time:
    return _real_gmtime(_seconds() if secs is None else secs)


def ctime(secs: float | None = None) -> str:
    return _real_ctime(_seconds() if secs is None else secs)


def asctime(t: Any = None) -> str:
    return _real_asctime(_real_localtime(_seconds()) if t is None else t)


def strftime(format: str, t: Any = None) -> str:
    return _real_strftime(format, _real_localtime(_seconds()) if t is None else t)


def _datetime_of(ns: int, tz: _datetime_module.tzinfo | None) -> _datetime_module.datetime:
    value = _RealDatetime.fromtimestamp(ns // NS, tz)
    return value.replace(microsecond=ns // 1000 % 1_000_000)


class _RealTypeCheck(type):
    """``isinstance(x, FakeDatetime)`` answers for the real type (every value is one)."""

    _real: type

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, cls._real)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls._real)


class FakeDate(_RealDate, metaclass=_RealTypeCheck):
    _real = _RealDate

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _RealDate(*args, **kwargs)

    @classmethod
    def today(cls) -> Any:
        return _RealDate.fromtimestamp(_now_ns() // NS)


class FakeDatetime(_RealDatetime, metaclass=_RealTypeCheck):
    _real = _RealDatetime

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _RealDatetime(*args, **kwargs)

    @classmethod
    def now(cls, tz: _datetime_module.tzinfo | None = None) -> Any:
        return _datetime_of(_now_ns(), tz)

    @classmethod
    def today(cls) -> Any:
        return _datetime_of(_now_ns(), None)

    @classmethod
    def utcnow(cls) -> Any:
        if sys.version_info >= (3, 12):
            warnings.warn(
                "datetime.datetime.utcnow() is deprecated and scheduled for removal in a future "
                "version. Use timezone-aware objects to represent datetimes in UTC: "
                "datetime.datetime.now(datetime.UTC).",
                DeprecationWarning,
                stacklevel=2,
            )
        return _datetime_of(_now_ns(), _UTC).replace(tzinfo=None)


for _fake, _real in ((FakeDate, _RealDate), (FakeDatetime, _RealDatetime)):
    _fake.__name__, _fake.__qualname__, _fake.__module__ = (
        _real.__name__,
        _real.__qualname__,
        "datetime",
    )
    _fake.__doc__ = _real.__doc__

_TIME_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "time": time,
    "time_ns": time_ns,
    "localtime": localtime,
    "gmtime": gmtime,
    "ctime": ctime,
    "asctime": asctime,
    "strftime": strftime,
}
_saved: dict[tuple[Any, str], Any] = {}


def install(clock: Clock) -> None:
    """Make the clock functions read ``clock`` (until :func:`uninstall`)."""
    global _current
    _current = clock
    if _saved:
        return
    for name, function in _TIME_FUNCTIONS.items():
        _saved[(_time_module, name)] = getattr(_time_module, name)
        setattr(_time_module, name, function)
    for name, fake in (("datetime", FakeDatetime), ("date", FakeDate)):
        _saved[(_datetime_module, name)] = getattr(_datetime_module, name)
        setattr(_datetime_module, name, fake)


def uninstall() -> None:
    """Put the real clock functions back."""
    global _current
    _current = None
    for (module, name), original in _saved.items():
        setattr(module, name, original)
    _saved.clear()
