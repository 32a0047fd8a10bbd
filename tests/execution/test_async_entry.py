"""``async def`` entry points: awaited in the worker on a loop of their own, recorded as a tree,
with the time limit and cancellation of any execution."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from runtree.execution.launcher import Launcher, SpawnLauncher
from runtree.execution.zygote_launcher import ZygoteLauncher

from .test_engine import latest, run

pytestmark = pytest.mark.slow

GATHER = """\
import asyncio

async def square(i):
    await asyncio.sleep(0.01)
    return i * i

async def main(n):
    return sum(await asyncio.gather(*(square(i) for i in range(n))))
"""


@pytest.fixture(scope="module", params=["zygote", "spawn"])
def launcher(request: pytest.FixtureRequest) -> Any:
    made: Launcher = ZygoteLauncher() if request.param == "zygote" else SpawnLauncher()
    yield made
    made.close()


def test_gather_is_awaited_and_recorded_as_a_tree(launcher: Launcher) -> None:
    outcome, steps = run(launcher, GATHER, n=4)
    assert outcome.status == "succeeded"
    assert outcome.output["preview"] == 0 + 1 + 4 + 9
    final = latest(steps)
    root = final[1]
    assert root["name"] == "main" and root["status"] == "completed"
    children = [s for s in final.values() if s["parent_id"] == root["id"]]
    assert [s["name"] for s in children] == ["square"] * 4
    assert sorted(s["output"]["preview"] for s in children) == [0, 1, 4, 9]


def test_each_execution_gets_a_new_loop(launcher: Launcher) -> None:
    source = (
        "import asyncio\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    return [loop.is_closed(), asyncio.get_event_loop_policy() is not None]\n"
    )
    for _ in range(2):  # the second run, forked from the same zygote, starts clean too
        outcome, _ = run(launcher, source)
        assert outcome.status == "succeeded" and outcome.output["preview"] == [False, True]


def test_an_exception_fails_the_execution_with_the_user_traceback(launcher: Launcher) -> None:
    source = (
        "import asyncio\n"
        "async def check(i):\n"
        "    await asyncio.sleep(0)\n"
        "    if i == 2:\n"
        "        raise ValueError(f'bad item {i}')\n"
        "    return i\n"
        "async def main():\n"
        "    return await asyncio.gather(*(check(i) for i in range(3)))\n"
    )
    outcome, steps = run(launcher, source)
    assert outcome.status == "failed"
    assert outcome.error["type"] == "ValueError"
    assert outcome.error["message"] == "bad item 2"
    assert ("default/main.py", 8) in [
        (f["filename"], f["lineno"]) for f in outcome.error["traceback"]
    ]
    final = latest(steps)
    failed = [s for s in final.values() if s["status"] == "failed"]
    assert {s["name"] for s in failed} == {"main", "check"}
    assert final[1]["error"]["type"] == "ValueError"


def test_the_time_limit_ends_a_waiting_coroutine(launcher: Launcher) -> None:
    source = (
        "import asyncio\n"
        "async def tick(i):\n"
        "    return i\n"
        "async def main():\n"
        "    for i in range(2):\n"
        "        await tick(i)\n"
        "    await asyncio.sleep(60)\n"
    )
    started = time.monotonic()
    outcome, steps = run(launcher, source, timeout_s=1)
    assert time.monotonic() - started < 8
    assert outcome.status == "timed_out"
    assert [s["name"] for s in latest(steps).values()] == ["main", "tick", "tick"]


def test_cancel_stops_a_waiting_coroutine(launcher: Launcher) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    source = "import asyncio\nasync def main():\n    await asyncio.sleep(60)\n"
    started = time.monotonic()
    outcome, _ = run(launcher, source, cancel=cancel)
    assert outcome.status == "cancelled"
    assert time.monotonic() - started < 8


def test_a_sync_entry_point_returning_a_coroutine_is_awaited_too(launcher: Launcher) -> None:
    source = "async def inner():\n    return 'awaited'\ndef main():\n    return inner()\n"
    outcome, steps = run(launcher, source)
    assert outcome.status == "succeeded" and outcome.output["preview"] == "awaited"
    assert [s["name"] for s in latest(steps).values()] == ["main", "inner"]
