"""A real `runtree serve` (2 worker slots) whose sandbox the hostile functions attack.

SAFETY. These payloads kill processes, fork without end and fill memory and disk. They are
only ever run through a server whose /healthz reports every tier-0 protection on (and the
fixture fails -- it never skips -- when that is not so). The server is started with
``RUNTREE_SANDBOX`` removed from its environment, so the escape cannot be inherited. The
``kill(-1)`` payload additionally refuses to run unless the execution's own uid is not root,
and its test first checks, through a real execution, that functions run as a slot uid.

The suite runs twice: on the best tiers this host offers ("full": namespaces and cgroups
too, where the probe finds them), and on tier 0 alone ("tier0": namespaces and cgroups
switched off), so the always-on layer is tested on its own, as in a default container.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtree.execution.sandbox.processes import processes_of

from . import payloads

SLOT_UIDS = range(64000, 65000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Platform:
    """One sandboxed `runtree serve` and the functions deployed on it."""

    def __init__(self, tier: str, directory: Path) -> None:
        self.tier = tier
        self.directory = directory
        self.database = directory / "runtree.db"
        self.key_file = directory / "admin-key"
        self.port = free_port()
        self.allowed_port = free_port()  # added to the ports functions with network may use
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "server.log"
        self.health: dict[str, Any] = {}

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNTREE_")}
        env["RUNTREE_ADMIN_KEY_FILE"] = str(self.key_file)
        env["RUNTREE_NETWORK_PORTS"] = f"80,443,{self.allowed_port}"
        if self.tier == "tier0":
            env["RUNTREE_SANDBOX_NAMESPACES"] = "off"
            env["RUNTREE_SANDBOX_CGROUPS"] = "off"
        command = [
            sys.executable,
            "-m",
            "runtree",
            "serve",
            "--port",
            str(self.port),
            "--database",
            f"sqlite:///{self.database}",
            "--workers",
            "2",
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runtree serve exited early:\n{self.log.read_text()}")
            try:
                response = httpx.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200:
                    self.health = response.json()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"runtree serve did not become healthy:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    # --- checks ------------------------------------------------------------------------

    def assert_sandboxed(self) -> dict[str, Any]:
        """Fail (never skip) unless the server reports every tier-0 protection on."""
        assert self.process is not None and self.process.poll() is None, "the server died"
        health = httpx.get(f"{self.url}/healthz", timeout=5).json()
        sandbox = health.get("sandbox")
        assert sandbox, f"the server reports no sandbox: {health}"
        assert sandbox["enabled"] and sandbox["tier0"], f"the sandbox is not active: {sandbox}"
        return dict(sandbox)

    def slot_uids(self) -> set[int]:
        """The slot uids this server holds (it keeps a lock file open for each)."""
        assert self.process is not None
        uids = set()
        fds = f"/proc/{self.process.pid}/fd"
        for fd in os.listdir(fds):
            with contextlib.suppress(OSError):
                target = os.readlink(f"{fds}/{fd}")
                if "/uids/" in target and target.endswith(".lock"):
                    uids.add(int(os.path.basename(target).removesuffix(".lock")))
        return uids

    def layer(self, name: str) -> bool:
        sandbox = self.assert_sandboxed()
        return any(layer["name"] == name and layer["active"] for layer in sandbox["layers"])

    def assert_healthy(self) -> None:
        assert self.process is not None and self.process.poll() is None, "the server died"
        response = httpx.get(f"{self.url}/healthz", timeout=5)
        assert response.status_code == 200, response.text
        with self.client() as client:
            assert client.get("/executions", params={"limit": 1}).status_code == 200

    # --- API ---------------------------------------------------------------------------

    def client(self) -> httpx.Client:
        key = self.key_file.read_text().strip()
        return httpx.Client(
            base_url=f"{self.url}/api/v1", timeout=60, headers={"Authorization": f"Bearer {key}"}
        )

    def deploy(self, name: str, code: str, **settings: Any) -> None:
        with self.client() as client:
            response = client.put(f"/functions/default/{name}", json={"code": code, **settings})
            assert response.status_code in (200, 201), response.text

    def start_execution(self, name: str, data: dict[str, Any]) -> str:
        with self.client() as client:
            response = client.post(
                f"/functions/default/{name}/executions", json={"input": data, "wait": False}
            )
            assert response.status_code == 202, response.text
            return str(response.json()["id"])

    def get(self, execution_id: str) -> dict[str, Any]:
        with self.client() as client:
            body: dict[str, Any] = client.get(f"/executions/{execution_id}").json()
            return body

    def wait(self, execution_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(execution_id)
            if body["status"] not in ("queued", "running"):
                return body
            assert time.monotonic() < deadline, f"{execution_id} did not finish: {body}"
            time.sleep(0.05)

    def run(
        self, name: str, data: dict[str, Any] | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        self.assert_sandboxed()
        return self.wait(self.start_execution(name, data or {}), timeout)

    # --- the victim --------------------------------------------------------------------

    def start_victim(self, seconds: float = 1.2) -> tuple[str, str]:
        """A well-behaved execution in the other slot, running when this returns: its id
        and its work directory."""
        execution_id = self.start_execution("victim", {"seconds": seconds})
        deadline = time.monotonic() + 30
        while True:
            body = self.get(execution_id)
            notes = [s for s in body.get("steps", []) if s["name"] == "note"]
            if notes:
                return execution_id, str(step_input(notes[0], "path"))
            assert body["status"] in ("queued", "running"), f"victim ended early: {body}"
            assert time.monotonic() < deadline, "the victim never started"
            time.sleep(0.02)

    def assert_victim_unharmed(self, execution_id: str) -> dict[str, Any]:
        body = self.wait(execution_id)
        assert body["status"] == "succeeded", f"the victim was harmed: {body}"
        assert body["output"]["alive"] is True
        assert body["output"]["data"] == "victim secret"
        assert body["output"]["uid"] in SLOT_UIDS
        return body


def step_input(step: dict[str, Any], name: str) -> Any:
    """A recorded input of a step, as the API shows it (a preview of the value)."""
    value = step["inputs"][name]
    return value["preview"] if isinstance(value, dict) and "preview" in value else value


def assert_no_process_of(uid: int, timeout: float = 10) -> None:
    """Nothing of ``uid`` is left running (zombies included, once reaped)."""
    deadline = time.monotonic() + timeout
    while processes_of(uid):
        assert time.monotonic() < deadline, f"processes of uid {uid} left: {processes_of(uid)}"
        time.sleep(0.05)


def slot_processes(platform: Platform) -> list[tuple[int, bool]]:
    """The processes of the server's slot uids (zombies flagged)."""
    found: list[tuple[int, bool]] = []
    uids = platform.slot_uids()
    assert len(uids) == 2, uids
    for uid in uids:
        found += processes_of(uid)
    return found


@contextlib.contextmanager
def running_platform(tier: str) -> Iterator[Platform]:
    """A started :class:`Platform` of ``tier`` in a directory of its own, stopped and
    removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="runtree-hostile-"))
    made = Platform(tier, directory)
    made.start()
    try:
        yield made
    finally:
        made.stop()
        with contextlib.suppress(OSError):
            for path in sorted(directory.rglob("*"), reverse=True):
                path.unlink() if not path.is_dir() else path.rmdir()
            directory.rmdir()


@pytest.fixture(scope="module", params=["full", "tier0"])
def platform(request: pytest.FixtureRequest) -> Iterator[Platform]:
    if os.geteuid() != 0:
        pytest.fail(
            "the hostile-code suite runs as root (as CI does): the sandbox needs root "
            "to switch executions to slot uids; nothing was run"
        )
    with running_platform(str(request.param)) as made:
        sandbox = made.assert_sandboxed()
        if made.tier == "tier0":
            active = {layer["name"] for layer in sandbox["layers"] if layer["active"]}
            assert not active & {"namespaces", "cgroups"}, sandbox
        for name, (code, settings) in payloads.FUNCTIONS.items():
            made.deploy(name, code, **settings)
        yield made
