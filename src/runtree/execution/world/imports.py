"""Importing the libraries that record a run's world without their optional extras.

A recording zygote imports time-machine and vcrpy (and, through vcrpy, the HTTP clients)
before it forks, and every child is a copy of it: each megabyte it holds makes forking a
spare and ending a run dearer. Some of what these libraries import is of no use to a run:

* time-machine imports pytest (for its fixture) and dateutil (to parse date strings given
  to ``time_machine.travel``) when they are installed;
* httpx imports its command line (click, rich, pygments) for ``httpx.main``.

In the project's environment they are installed, and they doubled the zygote (about 25 MB
more than one that does not record). The sandbox's runtime Python has none of them, so
there these imports fail and the libraries go on without them. :func:`without` makes an
unsandboxed zygote import them the same way, by hiding the extras while the libraries are
imported. Nothing else changes: a run that imports pytest, dateutil or ``httpx._main``
itself gets the real modules; only ``httpx.main`` is httpx's stand-in for a missing command
line, as in the sandbox.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator

# What the libraries that record the world may do without (see the module docstring).
EXTRAS = ("pytest", "dateutil", "httpx._main")


@contextlib.contextmanager
def without(names: tuple[str, ...] = EXTRAS) -> Iterator[None]:
    """Inside, importing one of ``names`` that is not imported yet raises ImportError (a
    ``None`` in :data:`sys.modules` says so); afterwards they import as usual. Only for a
    process's own start-up imports: another thread importing them meanwhile would fail too."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


class _TestCaseCheck(type):
    """``issubclass``/``isinstance`` against the stand-in ask the real ``unittest.TestCase``
    (imported then, on first use)."""

    def __subclasscheck__(cls, subclass: type) -> bool:
        import unittest

        return issubclass(subclass, unittest.TestCase)

    def __instancecheck__(cls, instance: object) -> bool:
        import unittest

        return isinstance(instance, unittest.TestCase)


class TestCaseStandIn(metaclass=_TestCaseCheck):
    """What time-machine gets for ``unittest.TestCase`` (see :func:`unittest_stand_in`)."""

    __test__ = False  # not a test class for pytest


@contextlib.contextmanager
def unittest_stand_in() -> Iterator[None]:
    """Inside, ``from unittest import TestCase`` gets :class:`TestCaseStandIn`, unless
    ``unittest`` is imported already; afterwards ``unittest`` imports as usual.
    time-machine imports ``unittest`` (about 1 MB with argparse, difflib and the rest, in
    every recording zygote) only to check that a class it decorates derives from
    ``TestCase``, which the stand-in answers by asking the real one."""
    if "unittest" in sys.modules:
        yield
        return
    stand_in = types.ModuleType("unittest")
    stand_in.TestCase = TestCaseStandIn  # type: ignore[attr-defined]
    sys.modules["unittest"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("unittest") is stand_in:
            del sys.modules["unittest"]
