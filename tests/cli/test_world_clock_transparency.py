"""Recording a run's wall clock (README, "Deterministic replay") leaves the clock's types
alone: the same values, types, pickles and subclasses as without runtree.

A regression test: the clock was once recorded by replacing ``datetime.datetime`` and
``datetime.date`` with stand-in subclasses, so inside every run ``type(now) is datetime``
was False, pickling a date raised ``PicklingError`` and ``MyDate(...)`` returned a plain date.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import pickle
import sys
import time

import pytest

from runtree.execution.world import clock, randomness

from .conftest import Cli

CHECK = """\
import datetime
import pickle
import time


class MyDate(datetime.date):
    pass


def check(day: str = "2024-01-02"):
    date = datetime.date.fromisoformat(day)
    now = datetime.datetime.now()
    return {
        "pickled": pickle.loads(pickle.dumps(date)) == date,
        "date_type_is": type(date) is datetime.date,
        "now_type_is": type(now) is datetime.datetime,
        "today_type_is": type(datetime.date.today()) is datetime.date,
        "subclass": type(MyDate(2024, 1, 2)).__name__,
        "time_is_builtin": type(time.time).__name__,
    }
"""

PLAIN = {
    "pickled": True,
    "date_type_is": True,
    "now_type_is": True,
    "today_type_is": True,
    "subclass": "MyDate",
    "time_is_builtin": "builtin_function_or_method",
}


def test_a_recorded_run_sees_the_real_clock_types(cli: Cli, tmp_path: pathlib.Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(CHECK, "check.py", "exec"), namespace)  # the same code without runtree
    assert namespace["check"]() == PLAIN  # type: ignore[operator]
    (tmp_path / "check.py").write_text(CHECK)
    assert cli("deploy", str(tmp_path / "check.py")).exit_code == 0
    outcome = cli("run", "check", "--json")
    assert outcome.exit_code == 0, outcome
    assert json.loads(outcome.stdout)["output"] == PLAIN


def test_reads_are_recorded_then_replayed_with_the_real_types() -> None:
    recording = clock.Clock()
    clock.install(recording)
    try:
        now = datetime.datetime.now()
        seconds = time.time()
        today = datetime.date.today()
        assert type(now) is datetime.datetime and type(today) is datetime.date
        assert pickle.loads(pickle.dumps(now)) == now
    finally:
        clock.uninstall()
    assert recording.count == 3 == len(recording.reads)

    replaying = clock.Clock(list(recording.reads))
    clock.install(replaying)
    try:
        assert datetime.datetime.now() == now
        assert time.time() == seconds
        assert datetime.date.today() == today
    finally:
        clock.uninstall()
    assert type(time.time).__name__ == "builtin_function_or_method"


def test_runtrees_own_reads_are_neither_recorded_nor_replayed() -> None:
    own: dict[str, object] = {"__name__": "runtree.tracking.example"}
    exec("import time\ndef read():\n    return time.time_ns()", own)
    replaying = clock.Clock([1_000_000_000])
    clock.install(replaying)
    try:
        real = own["read"]()  # type: ignore[operator]
        assert replaying.count == 0
        assert time.time_ns() == 1_000_000_000  # a user read gets the recorded value
    finally:
        clock.uninstall()
    assert real > 1_700_000_000 * 10**9


def test_reads_made_while_a_module_is_imported_are_neither_recorded_nor_replayed(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a module reads the clock or draws random bytes when imported depends on
    what the process imported before (the recording and the replaying zygote preload
    different modules), not on the run: such a read recorded by one and not made by the
    other would shift every later value (``logging`` stamps its start time on import)."""
    (tmp_path / "stamps_on_import.py").write_text(
        "import os, time\nSTARTED = time.time_ns()\nKEY = os.urandom(4)\n"
        "def read():\n    return time.time_ns(), os.urandom(4)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    recording, drawn = clock.Clock(), randomness.Entropy()
    clock.install(recording)
    randomness.install(drawn)
    try:
        import stamps_on_import  # type: ignore[import-not-found]

        at_import = stamps_on_import.STARTED
        assert (recording.count, drawn.count) == (0, 0)  # the import's own reads: real
        read, key = stamps_on_import.read()
        assert recording.reads == [read] and bytes(drawn.drawn) == key  # the run's: kept
    finally:
        randomness.uninstall()
        clock.uninstall()
        sys.modules.pop("stamps_on_import", None)
    replaying = clock.Clock([read])
    clock.install(replaying)
    try:
        import stamps_on_import

        assert stamps_on_import.STARTED != read and stamps_on_import.STARTED >= at_import
        assert stamps_on_import.read()[0] == read  # the first recorded value, not shifted
    finally:
        clock.uninstall()
        sys.modules.pop("stamps_on_import", None)
