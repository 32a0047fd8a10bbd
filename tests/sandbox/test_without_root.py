"""Tier 0 without uid separation: a real `runtree serve` started as an unprivileged user (as
on a laptop account), attacked by hostile functions while a victim run goes on in the other
slot. Every run shares the server's uid here, so these attacks aim at what that uid owns:
the server process, its database and admin key, the user's home, the other run.

The harness (root, as CI) creates the user ``runtree-test`` when missing and a world-readable
environment for it: a venv of Debian's ``/usr/bin/python3.11`` that sees this checkout's
installed packages and a copy of ``src/runtree``. Payloads run only after the server reports
the sandbox on (tier 0 without uid separation) and a real execution showed its uid is not
root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import payloads
from .conftest import free_port, step_input
from .test_hostile import NETWORK_DISABLED, failed_with

pytestmark = pytest.mark.slow

USER = "runtree-test"
SYSTEM_PYTHON = "/usr/bin/python3.11"
SOURCE = Path(__file__).resolve().parents[2] / "src" / "runtree"

HOME_SECRET = """
def home_secret(path: str):
    with open(path) as file:
        return file.read()
"""

SIGNAL_SERVER = """
import os, signal
def signal_server(pid: int):
    os.kill(pid, signal.SIGKILL)
    return "sent"
"""


def _user() -> pwd.struct_passwd:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(USER)
    subprocess.run(
        ["useradd", "--create-home", "--shell", "/usr/sbin/nologin", USER],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(USER)


def _environment(directory: Path) -> str:
    """A venv readable by the user, with this checkout's packages and a copy of runtree."""
    venv = directory / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    source = directory / "src"
    shutil.copytree(SOURCE, source / "runtree", ignore=shutil.ignore_patterns("__pycache__"))
    packages = sysconfig.get_paths()["purelib"]
    if not _world_readable(Path(packages)):  # e.g. a checkout under /root (0700)
        shutil.copytree(
            packages,
            directory / "packages",
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__", "__editable__*"),
        )
        packages = str(directory / "packages")
    site_dir = next(venv.glob("lib/python3*/site-packages"))
    (site_dir / "00-runtree-test.pth").write_text(f"{source}\n{packages}\n")
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    return str(venv / "bin" / "python")


def _world_readable(path: Path) -> bool:
    """Whether any user can list ``path`` and reach it through its parents."""
    if not path.stat().st_mode & stat.S_IROTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in [path, *path.parents])


class UserPlatform:
    """`runtree serve` as the unprivileged user, with two worker slots."""

    def __init__(self, directory: Path, user: pwd.struct_passwd, python: str) -> None:
        self.user = user
        self.python = python
        self.data = directory / "data"
        self.data.mkdir()
        os.chown(self.data, user.pw_uid, user.pw_gid)
        self.data.chmod(0o700)
        self.database = self.data / "runtree.db"
        self.key_file = self.data / "admin-key"
        self.home_secret = Path(user.pw_dir) / "runtree-test-secret"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.home_secret.write_text("the user's own secret")
        os.chown(self.home_secret, self.user.pw_uid, self.user.pw_gid)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.user.pw_dir,
            "LANG": "C.UTF-8",
            "RUNTREE_ADMIN_KEY_FILE": str(self.key_file),
            "RUNTREE_RUNTIME_PYTHON": self.python,
        }
        command = [
            self.python,
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
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                cwd=self.data,
                user=self.user.pw_uid,
                group=self.user.pw_gid,
                extra_groups=[],
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runtree serve exited early:\n{self.log.read_text()}")
            with contextlib.suppress(httpx.HTTPError, OSError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
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
        self.home_secret.unlink(missing_ok=True)

    def assert_sandboxed(self) -> dict[str, Any]:
        assert self.process is not None and self.process.poll() is None, "the server died"
        sandbox: dict[str, Any] = httpx.get(f"{self.url}/healthz", timeout=5).json()["sandbox"]
        assert sandbox["enabled"] and sandbox["tier0"], sandbox
        assert sandbox["uid_separation"] is False, sandbox
        return sandbox

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

    def wait(self, execution_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            with self.client() as client:
                body: dict[str, Any] = client.get(f"/executions/{execution_id}").json()
            if body["status"] not in ("queued", "running"):
                return body
            assert time.monotonic() < deadline, f"{execution_id} did not finish: {body}"
            time.sleep(0.05)

    def attack(self, name: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``name`` while a victim runs in the other slot; the victim must succeed and
        the server stay healthy."""
        self.assert_sandboxed()
        victim = self.start_execution("victim", {"seconds": 1.2})
        deadline = time.monotonic() + 30
        while True:  # the victim is running (it noted its work directory)
            with self.client() as client:
                body = client.get(f"/executions/{victim}").json()
            if any(s["name"] == "note" for s in body.get("steps", [])):
                break
            assert body["status"] in ("queued", "running"), body
            assert time.monotonic() < deadline, "the victim never started"
            time.sleep(0.02)
        attacked = self.wait(self.start_execution(name, data or {}))
        unharmed = self.wait(victim)
        assert unharmed["status"] == "succeeded", f"the victim was harmed: {unharmed}"
        assert unharmed["output"]["data"] == "victim secret"
        assert unharmed["output"]["uid"] == self.user.pw_uid
        self.assert_sandboxed()
        return attacked


@pytest.fixture(scope="module")
def platform() -> Iterator[UserPlatform]:
    if os.geteuid() != 0:
        pytest.fail(
            "the harness creates an unprivileged user and starts the server as it: "
            "run as root (as CI does); nothing was run"
        )
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.fail(f"{SYSTEM_PYTHON} (Debian's python3.11) is needed for the user's venv")
    user = _user()
    directory = Path(tempfile.mkdtemp(prefix="runtree-user-"))
    directory.chmod(0o755)
    try:
        made = UserPlatform(directory, user, _environment(directory))
        made.start()
        try:
            made.assert_sandboxed()
            for name, code, settings in (
                ("victim", payloads.VICTIM, {"timeout_s": 30}),
                ("whoami", payloads.WHOAMI, {}),
                ("read_file", payloads.READ_FILE, {}),
                ("home_secret", HOME_SECRET, {}),
                ("signal_server", SIGNAL_SERVER, {}),
                ("ptrace", payloads.PTRACE, {}),
                ("tcp_connect", payloads.TCP_CONNECT, {"timeout_s": 10}),
                (
                    "tcp_connect_net",
                    payloads.FUNCTIONS["tcp_connect_net"][0],
                    {"timeout_s": 10, "network": True},
                ),
                ("orphan", payloads.ORPHAN, {"timeout_s": 20, "subprocesses": True}),
                ("memfd_fill", payloads.MEMFD_FILL, {"timeout_s": 20, "memory_mb": 256}),
                ("x32_syscall", payloads.X32_SYSCALL, {"timeout_s": 20}),
                ("proc_self", payloads.PROC_SELF, {}),
                ("sleep_forever", payloads.SLEEP_FOREVER, {"timeout_s": 1}),
            ):
                made.deploy(name, code, **settings)
            yield made
        finally:
            made.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_runs_as_the_user_not_root(platform: UserPlatform) -> None:
    body = platform.wait(platform.start_execution("whoami", {}))
    assert body["status"] == "succeeded", body
    assert body["output"]["uid"] == platform.user.pw_uid != 0
    assert not [name for name in body["output"]["env"] if name.startswith("RUNTREE")]


@pytest.mark.parametrize("which", ["database", "admin key", "home"])
def test_the_users_own_files(platform: UserPlatform, which: str) -> None:
    if which == "home":
        body = platform.attack("home_secret", {"path": str(platform.home_secret)})
        failed_with(body, "PermissionError", str(platform.home_secret))
        return
    path = str(platform.database if which == "database" else platform.key_file)
    failed_with(platform.attack("read_file", {"path": path}), "PermissionError", path)


def test_signalling_the_server(platform: UserPlatform) -> None:
    assert platform.process is not None
    body = platform.attack("signal_server", {"pid": platform.process.pid})
    assert body["status"] == "failed" and body["error"]["type"] == "PermissionError", body
    assert platform.process.poll() is None


def test_ptrace_of_the_server(platform: UserPlatform) -> None:
    assert platform.process is not None
    body = platform.attack("ptrace", {"pid": platform.process.pid})
    assert body["status"] == "succeeded", body
    assert body["output"]["attach"] == [-1, "Operation not permitted"]


def test_network_and_processes_are_not_available(platform: UserPlatform) -> None:
    body = platform.attack("tcp_connect", {"host": "127.0.0.1", "port": platform.port})
    failed_with(body, "PermissionError", NETWORK_DISABLED)
    body = platform.attack("tcp_connect_net", {"host": "127.0.0.1", "port": platform.port})
    failed_with(body, "PermissionError", "not available on this host")
    body = platform.attack("orphan")
    failed_with(body, "PermissionError", "not available on this host")


def test_memfd_is_denied(platform: UserPlatform) -> None:
    body = platform.attack("memfd_fill", {"mb": 800})
    failed_with(body, "PermissionError", "shared memory (memfd, System V IPC) is not available")


def test_an_x32_system_call_ends_the_run(platform: UserPlatform) -> None:
    body = platform.attack("x32_syscall")
    assert body["status"] == "crashed" and "SIGSYS" in body["error"]["message"], body


def test_no_host_mounts(platform: UserPlatform) -> None:
    body = platform.attack("proc_self")
    assert body["status"] == "succeeded", body
    assert body["output"]["mounts"].startswith("blocked"), body["output"]


def test_the_deadline_still_holds(platform: UserPlatform) -> None:
    body = platform.attack("sleep_forever")
    assert body["status"] == "timed_out", body
    assert platform.process is not None and platform.process.poll() is None


def test_each_run_has_its_own_work_directory(platform: UserPlatform) -> None:
    first = platform.wait(platform.start_execution("victim", {"seconds": 0}))
    second = platform.wait(platform.start_execution("victim", {"seconds": 0}))
    paths = [
        step_input(next(s for s in body["steps"] if s["name"] == "note"), "path")
        for body in (first, second)
    ]
    assert paths[0] != paths[1]
    body = platform.attack("read_file", {"path": f"{paths[0]}/secret.txt"})
    assert body["status"] == "failed" and body["error"]["type"] in (
        "PermissionError",
        "FileNotFoundError",
    ), body
