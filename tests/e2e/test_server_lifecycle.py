"""A real server: crash recovery after SIGKILL, clean shutdown on Ctrl-C."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

# The worker's pid comes back as a recorded step: the sandbox lets a function write only to
# its own work directory.
SLOW = """
import os, time
def note(pid):
    return pid
def slow():
    note(os.getpid())
    time.sleep(60)
"""
QUICK = "def quick(x: int):\n    return x + 1\n"


def deploy(client: httpx.Client, name: str, code: str) -> None:
    response = client.put(f"/functions/default/{name}", json={"code": code, "timeout_s": 120})
    assert response.status_code in (200, 201), response.text


def start(client: httpx.Client, name: str, data: dict[str, Any]) -> str:
    response = client.post(
        f"/functions/default/{name}/executions", json={"input": data, "wait": False}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_status(
    client: httpx.Client, execution_id: str, wanted: set[str], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/executions/{execution_id}").json()
        if body["status"] in wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def wait_for_pid(client: httpx.Client, execution_id: str, timeout: float = 20) -> int:
    """The worker pid the execution reported in its ``note`` step."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/executions/{execution_id}").json()
        for step in body.get("steps", []):
            if step["name"] == "note":
                return int(step["inputs"]["pid"]["preview"])
        assert time.monotonic() < deadline, f"{execution_id} never reported its pid"
        time.sleep(0.05)


def test_sigkill_then_restart_marks_running_crashed_and_runs_queued(
    server_factory: Any, tmp_path: Path
) -> None:
    server = server_factory(workers=1)
    server.start()
    with server.client() as client:
        deploy(client, "slow", SLOW)
        deploy(client, "quick", QUICK)
        slow_id = start(client, "slow", {})
        assert wait_status(client, slow_id, {"running"})["status"] == "running"
        wait_for_pid(client, slow_id)
        queued_id = start(client, "quick", {"x": 41})  # the only worker slot is busy
        assert client.get(f"/executions/{queued_id}").json()["status"] == "queued"
    server.kill()

    server.start()
    with server.client() as client:
        crashed = wait_status(client, slow_id, {"crashed"})
        assert crashed["status"] == "crashed"
        assert "stopped" in crashed["error"]["message"]
        assert all(step["status"] != "running" for step in crashed["steps"])
        done = wait_status(client, queued_id, {"succeeded", "failed"})
        assert done["status"] == "succeeded" and done["output"] == 42


def test_ctrl_c_finishes_or_marks_running_executions(server_factory: Any, tmp_path: Path) -> None:
    server = server_factory(workers=1)
    server.start()
    with server.client() as client:
        deploy(client, "slow", SLOW)
        slow_id = start(client, "slow", {})
        worker_pid = wait_for_pid(client, slow_id)
    started = time.monotonic()
    assert server.interrupt() == 0
    assert time.monotonic() - started < 20
    for _ in range(50):  # the worker process does not outlive the server
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the execution's worker outlived the server")
    server.start()
    with server.client() as client:
        body = client.get(f"/executions/{slow_id}").json()
        assert body["status"] == "cancelled", body
