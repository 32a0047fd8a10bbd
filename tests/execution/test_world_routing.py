"""Which recording zygote runs a job (see runtree.execution.world.reach): code that can make
HTTP requests in the one with the HTTP clients patched, code that cannot but reads the clock
or draws randomness in one that holds only those, code that can do neither in one that holds
nothing of the world (each smaller than the one before, so each run is cheaper)."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runtree import service
from runtree.execution.job import FunctionSource, Job
from runtree.execution.runner import ExecutionRunner, WorldOptions
from runtree.execution.sandbox.slots import Sandbox
from runtree.execution.supervisor import Supervisor
from runtree.execution.world.reach import HTTP, LOCAL, NONE, reach, reach_of
from runtree.execution.zygote_launcher import ZygoteLauncher
from runtree.store import Store

PURE = """\
from collections.abc import Mapping
import json, math, random as rnd, time
from datetime import datetime

def total(items: list[float]) -> float:
    return math.fsum(items) + rnd.random() * 0 + time.time() * 0
"""


COMPUTES = """\
from collections.abc import Mapping
import json, math
from decimal import Decimal

def total(items: list[float]) -> float:
    return math.fsum(items) + float(Decimal("0.1")) * 0
"""


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    return 1\n",
        COMPUTES,
        "import json.decoder\nimport collections.abc as abc\ndef f():\n    return 1\n",
        "from __future__ import annotations\ndef f(x: int) -> int:\n    return x\n",
        # time only to measure durations or wait: monotonic clocks are not recorded
        "import time\ndef f():\n    t = time.perf_counter()\n    time.sleep(0)\n"
        "    return time.perf_counter() - t\n",
        "import time as tm\ndef f():\n    return tm.monotonic_ns()\n",
        "from time import perf_counter, sleep\ndef f():\n    return perf_counter()\n",
        # os and sys for the environment, paths, arguments and printed output
        "import os\ndef f():\n    return os.environ.get('A'), os.getenv('B'), os.path.join('a')\n",
        "from os import environ, getenv\nfrom os.path import join\n",
        "import os.path as p\ndef f():\n    return p.join('a')\n",
        "import sys\ndef f():\n    print(sys.argv, file=sys.stderr)\n    sys.exit(0)\n",
        "import os, sys, time\n",  # imported, never used
        # urllib.parse only computes; os.path too, however it is imported
        "from urllib.parse import urlencode, quote\n",
        "import urllib.parse\ndef f(q):\n    return urllib.parse.quote(q)\n",
        "import urllib.parse as up\nfrom urllib import parse\n",
        "import os.path\ndef f():\n    return os.path.join('a')\n",
    ],
)
def test_computation_only_code_reaches_nothing(source: str) -> None:
    assert reach(source) == NONE


@pytest.mark.parametrize(
    "source",
    [
        PURE,
        "import time\nSTARTED = time.time()\n",
        "from datetime import datetime\n",
        "import uuid\n",  # uuid1 reads the clock, uuid4 os.urandom
        "from statistics import mean\n",  # statistics draws from random
        "import secrets\n",
        "import calendar, zoneinfo\n",
        "import time\ndef f():\n    return time.perf_counter() + time.time()\n",
        "from time import perf_counter, time\n",
        "from time import *\n",
        "import time\ndef f():\n    return getattr(time, 'time')()\n",  # any other use
        "import time\nclock = time\n",
        "import time\ndef f(time):\n    return time.time()\n",  # a namesake counts too
        "import os\ndef f():\n    return os.urandom(8)\n",
        "from os import urandom\n",
        # input and output no recording captures: files, databases, raw sockets,
        # subprocesses (they may read the clock: a log record's time)
        "import socket\n",
        "import subprocess\ndef f():\n    return subprocess.run(['true']).returncode\n",
        "import csv, io, pathlib, sqlite3, tempfile, zipfile\n",
        "from pathlib import Path\nimport asyncio, threading\n",
        "import logging\nlog = logging.getLogger(__name__)\ndef f():\n    log.info('x')\n",
        "from logging import getLogger, INFO\n",
        "import logging\ndef f(setup):\n    return setup(logging)\n",  # passed on: the clock
    ],
)
def test_code_that_reads_the_clock_or_randomness_reaches_them_only(source: str) -> None:
    assert reach(source) == LOCAL


@pytest.mark.parametrize(
    "source",
    [
        "import requests\n",
        "import urllib.request\n",
        "from http import client\n",
        "from http.client import HTTPConnection\n",
        "import os\ndef f():\n    os.system('curl http://x')\n",
        "import os\ndef f():\n    return os.sys.modules\n",  # a way to every module
        "import os\ndef f(g):\n    return g(os)\n",  # passed on: anything may be done
        "from os import system\n",
        "import os.path\ndef f():\n    return os.popen('x')\n",
        "import sys\ndef f():\n    return sys.modules['http.client']\n",
        "import importlib\n",
        "import pickle\n",  # loads classes and functions by name
        "import xml.sax\n",  # parses a document from a URL with urllib
        "import urllib\ndef f(u):\n    return urllib.request.urlopen(u)\n",
        "import urllib.parse\ndef f(u):\n    return urllib.request.urlopen(u)\n",
        "from urllib import parse, request\n",
        # logging's HTTPHandler posts records with http.client; its config imports by name
        "import logging.handlers\n",
        "from logging.handlers import HTTPHandler\n",
        "from logging import handlers\n",
        "import logging\ndef f():\n    return logging.handlers.HTTPHandler('h', '/')\n",
        "import logging.config as c\n",
        "import socket, requests\n",
        "import json, httpx\n",
        "import time, requests\n",
        "from . import sibling\n",
        "def f():\n    import aiohttp\n",  # an import anywhere counts
        "def f():\n    return __import__('requests')\n",
        "def f(s):\n    exec(s)\n",
        "def f(s):\n    return eval(s)\n",
        "def f(s):\n    return compile(s, 'x', 'exec')\n",
        "def f():\n    return __builtins__\n",
        "def f(g):\n    return g.__builtins__\n",
        "def f(:\n",  # does not parse: its run fails, in the zygote that can do anything
    ],
)
def test_code_that_imports_anything_else_or_loads_code_reaches_everything(source: str) -> None:
    assert reach(source) == HTTP


def test_a_job_reaches_what_the_most_reaching_of_its_functions_does() -> None:
    assert reach_of([COMPUTES, "def g():\n    return 2\n"]) == NONE
    assert reach_of([COMPUTES, PURE]) == LOCAL
    assert reach_of([PURE, "import requests\n", COMPUTES]) == HTTP
    assert reach_of([]) == NONE


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'runtree.db'}")
    yield opened
    opened.close()


def test_the_runner_writes_the_answer_into_the_jobs_world(store: Store) -> None:
    """Over every function the run can reach by bare name: one importing an HTTP client
    sends the whole run to the zygote with the clients."""
    runner = ExecutionRunner(store, None, world=WorldOptions())  # type: ignore[arg-type]

    def job_of(name: str, data: dict[str, Any]) -> Job:
        execution = service.start_execution(store, "default", name, data)
        return runner.build_job(store.claim_execution(execution.id, "test"))

    service.deploy(store, "default", "total", COMPUTES)
    job = job_of("total", {"items": [1.0]})
    assert job.world is not None and job.world["reach"] == NONE == job.world_reach
    assert not job.records_http

    stamp = "import time\n\ndef stamp():\n    return int(time.time())\n"
    service.deploy(store, "default", "stamp", stamp)
    assert job_of("stamp", {}).world_reach == LOCAL

    service.deploy(store, "default", "fetch", "import requests\n\ndef fetch():\n    return 1\n")
    caller = "def outer():\n    return fetch() + total([1.0]) + stamp()\n"
    service.deploy(store, "default", "outer", caller)
    job = job_of("outer", {})
    assert set(job.functions) == {"outer", "fetch", "total", "stamp"}
    assert job.world is not None and job.world["reach"] == HTTP == job.world_reach
    assert job.records_http


def test_a_replay_always_runs_with_everything_patched() -> None:
    job = Job("e1", "default", "f", {}, world={"mode": "replay", "recording": {}, "reach": NONE})
    assert job.replays and job.records_http and job.world_reach == HTTP
    plain = Job("e2", "default", "f", {})  # records nothing: the main zygote, no clients
    assert plain.world_reach == HTTP and not plain.records_http


def test_only_a_run_that_reaches_nothing_goes_to_its_worker_without_a_world() -> None:
    record = {"mode": "record", "http_limit": 0, "secret_names": []}
    for reach_, kept in ((NONE, False), (LOCAL, True), (HTTP, True)):
        job = Job("e1", "default", "f", {}, world={**record, "reach": reach_})
        assert (job.for_worker().world is not None) is kept
        assert job.for_worker().world_reach == (HTTP if reach_ == NONE else reach_)
    replay = Job("e2", "default", "f", {}, world={"mode": "replay", "reach": NONE})
    assert replay.for_worker() is replay


# --- through the real zygotes -----------------------------------------------------------------

LOOKS = """\
import random, sys, time

def looks():
    return {
        "vcr": "vcr" in sys.modules,
        "time_machine": "time_machine" in sys.modules,
        "now": time.time(),
        "draw": random.random(),
    }
"""

# What a run that reaches nothing sees: no recording machinery imported or patched.
BARE = """\
import json

def bare():
    return json.dumps([1])
"""


@pytest.fixture(scope="module")
def launcher() -> Iterator[ZygoteLauncher]:
    made = ZygoteLauncher()
    yield made
    made.close()


def run(launcher: ZygoteLauncher, reach: str, pause: float, source: str = LOOKS) -> Any:
    time.sleep(pause)
    world = {"mode": "record", "http_limit": 4096, "secret_names": [], "network": True}
    world["reach"] = reach
    name = "looks" if source is LOOKS else "bare"
    job = Job("e1", "default", name, {name: FunctionSource(source, 1)}, world=world)
    outcome = Supervisor(launcher).run(job, on_steps=lambda steps: None)
    assert outcome.status == "succeeded", outcome.error
    return outcome


def zygote_modules(launcher: ZygoteLauncher, reach: str) -> set[str]:
    """The modules a spare of ``reach``'s zygote has, read from its process."""
    zygote = launcher._zygote if reach == HTTP else launcher._lesser[reach]
    assert zygote is not None
    with open(f"/proc/{zygote.process.pid}/maps") as maps:
        return {line.rsplit("/", 1)[-1].split(".")[0] for line in maps if ".so" in line}


@pytest.mark.slow
def test_each_kind_of_run_goes_to_its_zygote_and_records_what_it_can_reach(
    launcher: ZygoteLauncher,
) -> None:
    local = run(launcher, LOCAL, 0.3)
    assert set(launcher._lesser) == {LOCAL} and launcher._zygote is None  # started on need
    looks = local.output["preview"]
    assert looks["vcr"] is False and looks["time_machine"] is True
    recording = local.world["recording"]
    assert recording["clock_reads"] == len(recording["clock"]) == 1
    assert abs(recording["clock"][0] / 1e9 - looks["now"]) < 1e-6
    assert recording["http"] == []

    remote = run(launcher, HTTP, 0.3)
    assert launcher._zygote is not None
    assert remote.output["preview"]["vcr"] is True
    assert remote.world["recording"]["clock_reads"] == 1

    nothing = run(launcher, NONE, 0.3, BARE)
    assert set(launcher._lesser) == {LOCAL, NONE}
    assert "_time_machine" not in zygote_modules(launcher, NONE)  # nothing of the world held
    assert "_time_machine" in zygote_modules(launcher, LOCAL)
    # Its process runs as one that records nothing (the supervisor makes its recording):
    # given code that does read the clock, as the analysis would never send here, it sees
    # nothing of the recording machinery, and its clock read is not recorded.
    unrecorded = run(launcher, NONE, 0.3)
    assert unrecorded.output["preview"]["time_machine"] is False
    assert unrecorded.world["recording"]["clock_reads"] == 0
    recording = nothing.world["recording"]
    assert isinstance(recording["seed"], int)
    assert (recording["clock"], recording["clock_reads"], recording["http"]) == ([], 0, [])
    assert (recording["urandom"], recording["urandom_bytes"]) == ("", 0)


@pytest.mark.slow
@pytest.mark.parametrize("reach_", [LOCAL, HTTP])
def test_a_recorded_runs_draws_follow_from_its_recorded_seed(
    launcher: ZygoteLauncher, reach_: str
) -> None:
    """Whether its spare seeded ``random`` while it waited (a pause before the job) or had
    no time to and the run's session did (back to back): a replay seeds ``random`` with the
    recorded seed, so the draws must be the ones that seed gives."""
    for pause in (0.3, 0.0, 0.0, 0.0, 0.3, 0.0):
        outcome = run(launcher, reach_, pause)
        seed = outcome.world["recording"]["seed"]
        assert outcome.output["preview"]["draw"] == random.Random(seed).random()


FETCH = """\
import urllib.request

def fetch(url):
    request = urllib.request.Request(url, headers={"X-Partner-Token": "t0ken"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.read().decode()
"""


@pytest.fixture(scope="module")
def partner() -> Iterator[str]:
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/orders/7"
    server.shutdown()


@pytest.fixture(scope="module")
def unsandboxed() -> Iterator[ZygoteLauncher]:
    """Unsandboxed: the sandbox's egress firewall refuses every address of this host."""
    made = ZygoteLauncher(Sandbox.disabled())
    yield made
    made.close()


@pytest.mark.slow
@pytest.mark.parametrize("pause", [0.3, 0.0])
def test_a_spares_ready_session_records_with_the_jobs_own_settings(
    unsandboxed: ZygoteLauncher, partner: str, pause: float
) -> None:
    """A spare makes its run's recording session while it waits: the run still records with
    its job's settings (the secret names to redact, the size limit of what is kept)."""
    world = {"mode": "record", "secret_names": ["x_partner_token"], "network": True}
    job = Job(
        "e1", "default", "fetch", {"fetch": FunctionSource(FETCH, 1)}, kwargs={"url": partner}
    )
    for limit, kept in ((1 << 20, 1), (10, 0)):
        time.sleep(pause)
        spec = {**world, "http_limit": limit, "reach": HTTP}
        outcome = Supervisor(unsandboxed).run(
            dataclasses.replace(job, network=True, world=spec), on_steps=lambda steps: None
        )
        assert outcome.status == "succeeded", outcome.error
        recording = outcome.world["recording"]
        assert (len(recording["http"]), recording["http_dropped"]) == (kept, 1 - kept)
        if kept:
            headers = recording["http"][0]["request"]["headers"]
            assert headers["X-Partner-Token"] == ["[redacted]"]
