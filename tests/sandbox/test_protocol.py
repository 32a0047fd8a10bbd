"""A hostile function forging its worker's messages (issue 10): it can only lie about its own
tree. Each forgery ends its execution ``crashed`` ("worker protocol violation") -- never
``running`` -- while a victim in the other slot succeeds. See conftest.py for the safety
rules (nothing runs unless the sandbox is on)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from typing import Any

import httpx
import pytest

from .conftest import Platform

pytestmark = pytest.mark.slow

# Writes one line to every pipe the function's process may write to (its message pipe among
# them), optionally lingers, then leaves without a word of its own.
FORGE = """
import fcntl, os, stat, time
def forge(line: str, linger: float = 0):
    for fd in range(3, 256):
        try:
            mode, flags = os.fstat(fd).st_mode, fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if stat.S_ISFIFO(mode) and flags & os.O_ACCMODE == os.O_WRONLY:
            os.write(fd, line.encode() + b"\\n")
    time.sleep(linger)
    os._exit(0)
"""

ENCODED_LOOKALIKE = """
def lookalike():
    return {"__b64__": "aGk="}
"""


def forged_step(step_id: int) -> dict[str, Any]:
    return {
        "id": step_id,
        "parent_id": None,
        "sequence": step_id,
        "depth": 0,
        "name": "x",
        "status": "completed",
        "started_at_ns": 1,
    }


@pytest.fixture(scope="module", autouse=True)
def deployed(platform: Platform) -> None:
    platform.assert_sandboxed()
    platform.deploy("forge", FORGE)
    platform.deploy("lookalike", ENCODED_LOOKALIKE)


def forge(platform: Platform, message: Any, linger: float = 0) -> dict[str, Any]:
    """Run the forger with ``message`` while a victim runs in the other slot; the forger's
    finished execution. The victim must succeed and the platform stay healthy."""
    platform.assert_sandboxed()  # before any payload
    victim_id, _ = platform.start_victim()
    line = message if isinstance(message, str) else json.dumps(message)
    body = platform.run("forge", {"line": line, "linger": linger})
    platform.assert_victim_unharmed(victim_id)
    platform.assert_healthy()
    return body


def assert_protocol_violation(body: dict[str, Any]) -> None:
    assert body["status"] == "crashed", body
    assert body["error"]["type"] == "WorkerProtocolError", body["error"]
    assert body["error"]["message"].startswith("worker protocol violation: "), body["error"]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "result", "status": "running"},
        {"type": "result", "status": "exploded", "error": None},
        {
            "type": "result",
            "status": "succeeded",
            "output": ["a", "list", "instead", "of", "a", "captured", "value"],
        },
        "[" * 100_000,
        "not json at all",
    ],
    ids=["running", "made-up-status", "list-output", "deep", "garbage"],
)
def test_a_forged_result_crashes_the_execution(platform: Platform, message: Any) -> None:
    body = forge(platform, message)
    assert_protocol_violation(body)
    with platform.client() as client:  # cancelling what has ended changes nothing
        response = client.post(f"/executions/{body['id']}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "crashed"


def test_forged_steps_cannot_pass_the_step_budget(platform: Platform) -> None:
    message = {"type": "steps", "steps": [forged_step(step_id) for step_id in (1, 50_000)]}
    body = forge(platform, message)
    assert_protocol_violation(body)
    assert "step budget" in body["error"]["message"]
    assert all(step["id"] <= 10_000 for step in body.get("steps", []))


def test_a_forged_success_is_a_lie_about_its_own_run_only(platform: Platform) -> None:
    # A well-formed result, and the process lingers: the execution ends with that result (a
    # lie about itself, which no check can tell), the worker is stopped, the victim is fine.
    body = forge(
        platform,
        {
            "type": "result",
            "status": "succeeded",
            "output": {"preview": "forged", "size": 8, "format": "none"},
        },
        linger=60,
    )
    assert body["status"] == "succeeded" and body["output"] == "forged", body


def test_a_value_shaped_like_the_old_encoding_is_returned_as_it_is(platform: Platform) -> None:
    platform.assert_sandboxed()
    victim_id, _ = platform.start_victim()
    body = platform.run("lookalike")
    platform.assert_victim_unharmed(victim_id)
    assert body["status"] == "succeeded", body
    assert body["output"] == {"__b64__": "aGk="}


# --- a costly deploy ---------------------------------------------------------------------


def huge_fstring(fields: int) -> str:
    """Issue 10's hostile deploy: one f-string with ``fields`` fields (seconds to parse)."""
    return 'def costly(x):\n    return f"' + "{x}" * fields + '"\n'


def checker_cpu_ticks(server_pid: int) -> int | None:
    """CPU time (clock ticks) of the server's source-checking process, if it has one."""
    children: list[str] = []
    for task in os.listdir(f"/proc/{server_pid}/task"):  # each thread's children
        with contextlib.suppress(OSError), open(f"/proc/{server_pid}/task/{task}/children") as file:
            children += file.read().split()
    for child in children:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as file:
                if b"runtree.instrument.isolated" not in file.read():
                    continue
            with open(f"/proc/{child}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            continue
    return None


def test_a_costly_deploy_neither_stalls_the_server_nor_lands(platform: Platform) -> None:
    platform.assert_sandboxed()
    assert platform.process is not None
    victim_id, _ = platform.start_victim()
    answers: list[httpx.Response] = []

    def deploy() -> None:
        with platform.client() as client:
            answers.append(
                client.put("/functions/default/costly", json={"code": huge_fstring(100_000)})
            )

    deploying = threading.Thread(target=deploy)
    deploying.start()
    # The server must answer /healthz while the deploy's checks burn CPU (in a process of
    # their own): seen as the checking process's CPU time growing across one answer.
    answered_while_checking = False
    while deploying.is_alive() and not answered_while_checking:
        before = checker_cpu_ticks(platform.process.pid)
        health = httpx.get(f"{platform.url}/healthz", timeout=120)
        after = checker_cpu_ticks(platform.process.pid)
        assert health.status_code == 200, health.text
        answered_while_checking = (
            before is not None and after is not None and after > before and deploying.is_alive()
        )
    deploying.join(300)
    assert answered_while_checking, "the server did not answer while the deploy was checked"
    (response,) = answers
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("/source-too-complex"), response.text
    assert "syntax-tree nodes" in response.json()["detail"]
    platform.assert_victim_unharmed(victim_id)
    platform.assert_healthy()
    with platform.client() as client:
        assert client.get("/functions/default/costly").status_code == 404


# --- deep JSON and private files ---------------------------------------------------------


def test_deeply_nested_input_is_refused_at_every_entry(platform: Platform) -> None:
    platform.assert_sandboxed()
    victim_id, _ = platform.start_victim()
    deep = "[" * 100_000 + "]" * 100_000
    nested_900: Any = 1
    for _ in range(900):
        nested_900 = [nested_900]
    with platform.client() as client:
        response = client.post(
            "/functions/default/victim/executions",
            json={"input": {"seconds": nested_900}, "wait": False},
        )
        assert response.status_code == 422 and "64 levels" in response.text, response.text
        response = client.post(
            "/functions/default/victim/executions",
            content='{"input": {"seconds": ' + deep + "}}",
            headers={"content-type": "application/json"},
        )
        assert 400 <= response.status_code < 500 and "64 levels" in response.text
        created = client.post(
            "/webhooks", json={"function": "default/victim", "path": "deep-victim"}
        )
        assert created.status_code == 201, created.text
    response = httpx.post(
        f"{platform.url}/hooks/deep-victim", content='{"seconds": ' + deep + "}", timeout=60
    )
    assert 400 <= response.status_code < 500 and "64 levels" in response.text, response.text
    platform.assert_victim_unharmed(victim_id)
    platform.assert_healthy()  # the executions list answers


def test_the_database_and_admin_key_are_private_files(platform: Platform) -> None:
    platform.assert_sandboxed()
    for path in (
        platform.database,
        platform.key_file,
        platform.database.with_name(platform.database.name + "-wal"),
        platform.database.with_name(platform.database.name + "-shm"),
    ):
        assert path.exists(), path
        assert os.stat(path).st_mode & 0o077 == 0, f"{path} is readable by others"
