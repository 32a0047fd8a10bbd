"""A recording zygote: what it imports, and runs through its spares (each warms a recording
session up while it waits, and skips what is left of its warm-up when a job comes).

Through the real zygote: each job here is given to a spare that had time to warm up.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from runtree.execution.code_cache import CodeCache
from runtree.execution.job import FunctionSource, Job
from runtree.execution.supervisor import Supervisor
from runtree.execution.worker import warm_up_thread
from runtree.execution.zygote import Options
from runtree.execution.zygote_launcher import ZygoteLauncher
from runtree.execution.zygote_spares import Spares, warm_until_job

pytestmark = pytest.mark.slow

DRAWS = """\
import os, random, time

def draws():
    return [time.time(), time.time_ns(), random.random(), random.getrandbits(64),
            os.urandom(8).hex()]
"""

# What a run sees of the recording machinery: nothing, when it does not record.
LOOKS = """\
import os, random, time
import time_machine

def looks():
    return {
        "travellers": len(time_machine.traveller_stack),
        "urandom": type(os.urandom).__name__,
        "random": random.random(),
    }
"""


@pytest.fixture(scope="module")
def launcher() -> Iterator[ZygoteLauncher]:
    made = ZygoteLauncher()  # records: it patches the clients, its spares warm a session
    yield made
    made.close()


def run(launcher: ZygoteLauncher, name: str, source: str, world: dict[str, Any] | None) -> Any:
    time.sleep(0.5)  # the spare that takes the job has warmed up by then
    job = Job("e1", "default", name, {name: FunctionSource(source, 1)}, world=world)
    outcome = Supervisor(launcher).run(job, on_steps=lambda steps: None)
    assert outcome.status == "succeeded", outcome.error
    return outcome


def test_a_run_recorded_by_a_warm_spare_replays_exactly(launcher: ZygoteLauncher) -> None:
    record = {"mode": "record", "http_limit": 4096, "secret_names": [], "network": False}
    recorded = run(launcher, "draws", DRAWS, record)
    recording = recorded.world["recording"]
    # Its own reads only: nothing the spare's warm-up read, nor its request.
    assert recording["clock_reads"] == len(recording["clock"]) == 2
    assert recording["urandom_bytes"] == 8
    assert recording["http"] == [] and recording["http_dropped"] == 0
    replay = {"mode": "replay", "recording": recording, "source": "run 1", "secret_names": []}
    replayed = run(launcher, "draws", DRAWS, replay)
    assert replayed.output["preview"] == recorded.output["preview"]
    again = run(launcher, "draws", DRAWS, record)  # a new seed, a new clock
    assert again.output["preview"] != recorded.output["preview"]


def test_a_run_that_records_nothing_gets_the_real_clock_and_randomness(
    launcher: ZygoteLauncher,
) -> None:
    first = run(launcher, "looks", LOOKS, None).output["preview"]
    second = run(launcher, "looks", LOOKS, None).output["preview"]
    assert first["travellers"] == second["travellers"] == 0
    assert first["urandom"] == "builtin_function_or_method"
    assert first["random"] != second["random"]


def test_a_recording_zygote_leaves_out_what_the_recording_libraries_need_elsewhere() -> None:
    """pytest, dateutil and httpx's command line stay out of a prepared process (they
    doubled a recording zygote), and a run can still import them itself."""
    script = """
import sys
from runtree.execution.world import prepare, warm_up
prepare()
warm_up()
import httpx, time_machine, vcr
extras = ("pytest", "dateutil", "httpx._main", "rich", "click")
print([name for name in extras if name in sys.modules])
import dateutil.parser, pytest
print(time_machine.HAVE_PYTEST, "ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split("\n")[:2] == ["[]", "False ok"], done.stderr


def test_a_spare_stops_warming_up_when_its_job_comes() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ran: list[str] = []
        steps = [lambda: ran.append("tiny job"), lambda: ran.append("session")]
        assert warm_until_job(theirs, steps) == 2  # nothing waiting: all of it
        ran.clear()

        def job_comes() -> None:
            ran.append("tiny job")
            ours.send(b"job")

        def fails() -> None:
            raise RuntimeError("warming up is an optimization")

        assert warm_until_job(theirs, [fails, job_comes, *steps]) == 2
        assert ran == ["tiny job"]  # the session's warm-up was left to the run


@pytest.mark.parametrize("record_http", [False, True])
def test_a_spare_warms_a_thread_up_first_and_leaves_none_running(record_http: bool) -> None:
    """Right after the tiny job, a spare starts and ends one thread (its run's step streamer
    then reuses that stack instead of mapping one on the request path), and the thread has
    ended when the step returns: nothing of the warm-up runs beside the job."""
    spares = Spares(Options(record_http=record_http), CodeCache(), lambda body: None)
    steps = spares._warm_up_steps()
    assert steps[1] is warm_up_thread
    before = threading.active_count()
    warm_up_thread()
    assert threading.active_count() == before


def test_held_patches_read_the_real_clock_between_runs_and_record_during_them() -> None:
    """What a recording zygote holds (world.hold) before it forks: sessions only swap the
    clock and the randomness read; in between, the real ones are read; release() takes the
    patches out (a run that records nothing)."""
    script = """
import os, time
import time_machine
from runtree.execution import world
from runtree.execution.world import clock, randomness
real_urandom = os.urandom
world.hold()
assert len(time_machine.traveller_stack) == 1 and os.urandom is not real_urandom
before = time.time_ns()
assert abs(before - clock._real_time_ns()) < 10**9 and len(os.urandom(4)) == 4
session = world.Session({"mode": "record", "http_limit": 0, "network": False}, ())
session.start()
time.time(); os.urandom(3)
recording = session.stop()["recording"]
assert recording["clock_reads"] == 1 and recording["urandom_bytes"] == 3, recording
time.time(); os.urandom(3)  # between runs: nothing is kept
assert session.clock.count == 1 and session.entropy.count == 3
assert len(time_machine.traveller_stack) == 1  # still held
world.release()
assert time_machine.traveller_stack == [] and os.urandom is real_urandom
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_held_patches_leave_the_steps_start_times_to_the_real_clock() -> None:
    """While the clock is patched, runtree's own step times read the real clock directly
    (not through the traveller, which would answer with the real clock all the same), and
    are never recorded; released, they read ``time.time_ns`` again."""
    script = """
import time
from runtree import record
from runtree.execution import world
from runtree.execution.world import clock
from runtree.tracking import recording as steps
calls = []
real_traveller_time_ns = clock._ClockTraveller.time_ns
def counted(self):
    calls.append(1)
    return real_traveller_time_ns(self)
clock._ClockTraveller.time_ns = counted
with record():  # what a first recording imports (logging reads the clock) is imported now
    pass
world.hold()
assert steps._wall_ns is clock._real_time_ns
session = world.Session({"mode": "record", "http_limit": 0, "network": False}, ())
session.start()
with record() as rec:
    pass
time.time()
recording = session.stop()["recording"]
assert calls == [1] and recording["clock_reads"] == 1, (calls, recording)
assert abs(rec.wall_start_ns - clock._real_time_ns()) < 10**9
world.release()
assert steps._wall_ns is time.time_ns
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_the_clock_zygote_leaves_unittest_out_and_time_machine_still_checks_test_cases() -> None:
    """time-machine imports unittest (about 1 MB) only to check the classes it decorates:
    the zygote that holds the clock and randomness imports it with a stand-in, which asks
    the real TestCase when time-machine checks; a run's own ``import unittest`` is real."""
    script = """
import sys
from runtree.execution.world import prepare, warm_up
prepare(http=False)
warm_up(request=False, http=False)
print("unittest" in sys.modules)
import time_machine, unittest
class Case(unittest.TestCase):
    def test(self):
        pass
print(time_machine.travel(0)(Case) is Case, unittest.TestCase.__module__)
try:
    time_machine.travel(0)(int)
except TypeError as error:
    print(error)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split("\n")[:3] == [
        "False",
        "True unittest.case",
        "Can only decorate unittest.TestCase subclasses.",
    ], done.stderr
