"""The execution engine end to end: a job in, a worker process, an outcome and steps out."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

from runtree.execution.job import FunctionSource, Job
from runtree.execution.launcher import Launcher, SpawnLauncher
from runtree.execution.supervisor import Supervisor
from runtree.execution.zygote_launcher import ZygoteLauncher

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["zygote", "spawn"])
def launcher(request: pytest.FixtureRequest) -> Any:
    made: Launcher = ZygoteLauncher() if request.param == "zygote" else SpawnLauncher()
    yield made
    made.close()


def run(
    launcher: Launcher,
    source: str,
    *,
    timeout_s: float = 10,
    memory_mb: int = 512,
    cancel: threading.Event | None = None,
    subprocesses: bool = False,
    **kwargs: Any,
) -> tuple[Any, list[dict[str, Any]]]:
    steps: list[dict[str, Any]] = []
    job = Job(
        "e1",
        "default",
        "main",
        {"main": FunctionSource(source, 1)},
        kwargs=kwargs,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        subprocesses=subprocesses,
    )
    outcome = Supervisor(launcher).run(job, on_steps=steps.extend, cancel=cancel)
    return outcome, steps


def latest(steps: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Steps arrive again when they finish: the last copy of each wins."""
    return {s["id"]: s for s in steps}


def test_success_with_output_steps_and_printed_text(launcher: Launcher) -> None:
    outcome, steps = run(
        launcher,
        "def helper(x):\n    print('helping', x)\n    return x * 2\n"
        "def main(n):\n    return [helper(i) for i in range(n)]\n",
        n=3,
    )
    assert outcome.status == "succeeded"
    assert outcome.output["preview"] == [0, 2, 4]
    final = latest(steps)
    assert [s["name"] for s in final.values()] == ["main", "helper", "helper", "helper"]
    assert all(s["status"] == "completed" for s in final.values())
    assert final[2]["stdout"] == "helping 0\n"
    assert final[2]["function"] == "default/main" and final[2]["version"] == 1


def test_failure_records_error_and_user_traceback(launcher: Launcher) -> None:
    outcome, steps = run(launcher, "def main():\n    x = {}\n    return x['missing']\n")
    assert outcome.status == "failed"
    assert outcome.error["type"] == "KeyError"
    assert [(f["filename"], f["lineno"]) for f in outcome.error["traceback"]] == [
        ("default/main.py", 3)
    ]
    assert outcome.error["traceback"][0]["line"] == "return x['missing']"
    assert latest(steps)[1]["status"] == "failed"


def test_timeout_kills_and_keeps_the_partial_tree(launcher: Launcher) -> None:
    started = time.monotonic()
    outcome, steps = run(
        launcher,
        "import time\ndef step(i):\n    return i\n"
        "def main():\n    for i in range(3):\n        step(i)\n    time.sleep(60)\n",
        timeout_s=1,
    )
    assert time.monotonic() - started < 8
    assert outcome.status == "timed_out"
    assert "time limit of 1 s" in outcome.error["message"]
    final = latest(steps)
    assert [s["name"] for s in final.values()] == ["main", "step", "step", "step"]
    assert final[1]["status"] == "running"  # the store marks it interrupted when finishing


def test_exit_without_reporting_is_a_crash(launcher: Launcher) -> None:
    outcome, _ = run(launcher, "import os\ndef main():\n    os._exit(3)\n")
    assert outcome.status == "crashed"
    assert "exited with code 3" in outcome.error["message"]


def test_segfault_is_a_crash(launcher: Launcher) -> None:
    outcome, _ = run(launcher, "import ctypes\ndef main():\n    ctypes.string_at(0)\n")
    assert outcome.status == "crashed"
    assert "SIGSEGV" in outcome.error["message"]


def test_killed_worker_is_a_crash_and_the_next_run_works(launcher: Launcher) -> None:
    source = "import os, signal\ndef main():\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    outcome, _ = run(launcher, source)
    assert outcome.status == "crashed" and "SIGKILL" in outcome.error["message"]
    again, _ = run(launcher, "def main():\n    return 'fine'\n")
    assert again.status == "succeeded" and again.output["preview"] == "fine"


def test_memory_limit_raises_memory_error(launcher: Launcher) -> None:
    outcome, steps = run(
        launcher, "def main():\n    return len(bytearray(2 * 1024**3))\n", memory_mb=256
    )
    assert outcome.status == "failed"
    assert outcome.error["type"] == "MemoryError"
    assert latest(steps)[1]["status"] == "failed"


def test_cancel_stops_a_running_execution(launcher: Launcher) -> None:
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    outcome, _ = run(launcher, "import time\ndef main():\n    time.sleep(60)\n", cancel=cancel)
    assert outcome.status == "cancelled"
    assert time.monotonic() - started < 8


def test_the_whole_process_group_is_killed(launcher: Launcher) -> None:
    # The child's pid comes back as a recorded step (the sandbox lets the function write only
    # to its own work directory).
    source = (
        "import os, subprocess, sys, time\n"
        "def note(pid):\n"
        "    return pid\n"
        "def main():\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "    note(child.pid)\n"
        "    time.sleep(60)\n"
    )
    outcome, steps = run(launcher, source, timeout_s=2, subprocesses=True)
    assert outcome.status == "timed_out"
    pid = next(s["inputs"]["pid"]["preview"] for s in steps if s["name"] == "note")
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the worker's child survived the kill of its process group")


def test_calls_between_functions_use_each_functions_version(launcher: Launcher) -> None:
    job = Job(
        "e2",
        "shop",
        "total",
        {
            "total": FunctionSource("def total(n):\n    return price(n) * n\n", 4),
            "price": FunctionSource(
                "def price(n):\n    return 10 if n < 3 else total(n - 3) + 1\n", 7
            ),
        },
        kwargs={"n": 4},
    )
    steps: list[dict[str, Any]] = []
    outcome = Supervisor(launcher).run(job, on_steps=steps.extend)
    assert outcome.status == "succeeded" and outcome.output["preview"] == 44
    final = latest(steps)
    assert [(s["name"], s["function"], s["version"]) for s in final.values()] == [
        ("total", "shop/total", 4),
        ("price", "shop/price", 7),
        ("total", "shop/total", 4),
        ("price", "shop/price", 7),
    ]


def test_missing_function_is_a_name_error_on_the_step(launcher: Launcher) -> None:
    outcome, steps = run(launcher, "def main():\n    return not_deployed(1)\n")
    assert outcome.status == "failed"
    assert outcome.error["type"] == "NameError"
    assert "not_deployed" in outcome.error["message"]
    assert latest(steps)[1]["error"]["type"] == "NameError"


def test_zygote_restarts_after_it_dies() -> None:
    launcher = ZygoteLauncher()
    try:
        first, _ = run(launcher, "def main():\n    return 1\n")
        assert first.status == "succeeded"
        assert launcher._process is not None
        launcher._process.kill()
        launcher._process.wait()
        second, _ = run(launcher, "def main():\n    return 2\n")
        assert second.status == "succeeded" and second.output["preview"] == 2
    finally:
        launcher.close()


def test_a_dead_zygote_fails_only_its_own_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The end of a dead zygote's control socket may be seen late (here: the test holds a
    copy of the zygote's end until the restarted zygote runs a job); when it is seen, only
    that zygote's requests fail, never those of the zygote started since."""
    import socket

    from runtree.execution import zygote_launcher as launcher_module

    # every control socket pair made, with a copy of the zygote's end, which keeps the end
    # of a dead zygote's socket from being seen until the test closes it (other tests'
    # launchers may make pairs meanwhile: each zygote's copy is found by its own socket)
    pairs: list[tuple[socket.socket, socket.socket]] = []
    real_socketpair = socket.socketpair

    def socketpair(*args: Any) -> tuple[socket.socket, socket.socket]:
        ours, theirs = real_socketpair(*args)
        pairs.append((ours, theirs.dup()))
        return ours, theirs

    def held_for(zygote: Any) -> socket.socket:
        (copy,) = [held for ours, held in pairs if ours is zygote.control]
        return copy

    monkeypatch.setattr(launcher_module.socket, "socketpair", socketpair)
    launcher = ZygoteLauncher()
    try:
        first, _ = run(launcher, "def main():\n    return 1\n")
        assert first.status == "succeeded"
        first_zygote = launcher._zygote
        assert first_zygote is not None and first_zygote.reader is not None
        first_held = held_for(first_zygote)
        assert launcher._process is not None
        launcher._process.kill()
        launcher._process.wait()  # dead, but its reader has not seen the end: first_held

        started = threading.Event()
        pids: list[int] = []
        outcomes: list[Any] = []
        job = Job(
            "e4",
            "default",
            "main",
            {"main": FunctionSource("import time\ndef main():\n    time.sleep(60)\n", 1)},
        )

        def on_started(pid: int) -> None:
            pids.append(pid)
            started.set()

        runner = threading.Thread(
            target=lambda: outcomes.append(
                Supervisor(launcher).run(job, on_steps=lambda steps: None, on_started=on_started)
            )
        )
        runner.start()
        assert started.wait(30), "the restarted zygote did not start the job"
        # a second zygote runs it (started by this run or a clean-up)
        assert launcher._zygote is not None and launcher._zygote is not first_zygote

        first_held.close()  # now the first zygote's reader sees the end
        first_zygote.reader.join(10)
        assert not first_zygote.reader.is_alive()

        os.kill(pids[0], signal.SIGKILL)  # the new zygote must still report this exit
        runner.join(30)
        (outcome,) = outcomes
        assert outcome.status == "crashed"
        assert "SIGKILL" in outcome.error["message"], outcome.error
        again, _ = run(launcher, "def main():\n    return 2\n")
        assert again.status == "succeeded" and again.output["preview"] == 2
    finally:
        for _ours, held in pairs:
            held.close()
        launcher.close()


def test_compiled_code_is_never_served_for_other_source(launcher: Launcher) -> None:
    # Same file name and version, other source: the zygote's code cache must tell them apart,
    # and tracebacks must show the source that ran.
    for value in ("first", "second", "first"):
        source = f"def main():\n    raise ValueError({value!r})  # {value}\n"
        outcome, _ = run(launcher, source)
        assert outcome.status == "failed"
        assert outcome.error["message"] == value
        assert outcome.error["traceback"][-1]["line"] == f"raise ValueError({value!r})  # {value}"
    ok, _ = run(launcher, "def main():\n    return 'ok'\n")
    assert ok.status == "succeeded" and ok.output["preview"] == "ok"


def test_last_steps_can_come_with_the_outcome(launcher: Launcher) -> None:
    source = "def helper(x):\n    return x + 1\ndef main():\n    return helper(1)\n"
    job = Job("e3", "default", "main", {"main": FunctionSource(source, 1)})
    streamed: list[dict[str, Any]] = []
    outcome = Supervisor(launcher).run(job, on_steps=streamed.extend, keep_final_steps=True)
    assert outcome.status == "succeeded" and outcome.output["preview"] == 2
    final = latest([*streamed, *outcome.steps])
    assert [(s["name"], s["status"]) for s in final.values()] == [
        ("main", "completed"),
        ("helper", "completed"),
    ]


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as file:
        return [int(child) for child in file.read().split()]


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_zygote_replaces_a_spare_worker_that_died() -> None:
    launcher = ZygoteLauncher()
    try:
        first, _ = run(launcher, "def main():\n    return 1\n")
        assert first.status == "succeeded"
        assert launcher._process is not None
        deadline = time.monotonic() + 5
        while not (spares := _children(launcher._process.pid)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert spares, "the zygote keeps a spare worker ready"
        for pid in spares:
            os.kill(pid, signal.SIGKILL)
        for pid in spares:  # dead (a zombie until the zygote reaps it) or gone
            while time.monotonic() < deadline + 5 and _state(pid) not in ("Z", None):
                time.sleep(0.01)
        for expected in (2, 3):  # a new child at once, then a new spare
            outcome, _ = run(launcher, f"def main():\n    return {expected}\n")
            assert outcome.status == "succeeded" and outcome.output["preview"] == expected
    finally:
        launcher.close()


USER_CLASSES = """
import enum

CALLS = []


class Color(enum.Enum):
    RED = 1

    def __reduce_ex__(self, protocol):
        CALLS.append("enum")
        return (Color, (1,))


class Thing:
    def __init__(self, n):
        self.n = n
        self.color = Color.RED

    def __reduce__(self):
        CALLS.append("reduce")
        return (Thing, (self.n,))


Thing.default = Thing(0)


def helper(thing, kind):
    return thing.n


def main():
    helper(Thing(1), Thing)
    helper(Thing.default, Color.RED)
    return {"calls": list(CALLS), "thing": Thing(2)}
"""


def test_user_classes_are_captured_by_reference_without_their_hooks(launcher: Launcher) -> None:
    outcome, steps = run(launcher, USER_CLASSES)
    assert outcome.status == "succeeded"
    output = outcome.output
    assert output["preview"]["calls"] == []
    assert output["preview"]["thing"] == {
        "__type__": "main.Thing",
        "n": 2,
        "color": {"__type__": "main.Color", "member": "RED"},
    }
    assert output["format"] == "pickle" and "warning" not in output
    helpers = [s for s in latest(steps).values() if s["name"] == "helper"]
    for step in helpers:
        for value in step["inputs"].values():
            assert value["format"] == "pickle" and "warning" not in value, value
    assert helpers[1]["inputs"]["kind"]["preview"] == {"__type__": "main.Color", "member": "RED"}
