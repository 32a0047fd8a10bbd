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
import time

from runtree.execution.world import clock

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
