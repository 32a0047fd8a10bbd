"""A real `runtree serve` in a subprocess, on a free loopback port and its own database."""

from __future__ import annotations

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One `runtree serve` process; `start()` again after `kill()` reuses port and database."""

    def __init__(self, database: str, workers: int = 1, startup_timeout: float = 30) -> None:
        self.database = database
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        # Next to a SQLite database, as by default; elsewhere (PostgreSQL) a file of its own.
        if database.startswith("sqlite:///"):
            self.admin_key_file = Path(database.removeprefix("sqlite:///") + ".admin-key")
        else:
            self.admin_key_file = Path(tempfile.mkdtemp(prefix="runtree-key-")) / "admin-key"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "runtree",
            "serve",
            "--port",
            str(self.port),
            "--database",
            self.database,
            "--workers",
            str(self.workers),
        ]
        env = {**os.environ, "RUNTREE_ADMIN_KEY_FILE": str(self.admin_key_file)}
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise RuntimeError(f"runtree serve exited early:\n{output}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"runtree serve did not become healthy in {self.startup_timeout:g} s")

    @property
    def admin_key(self) -> str:
        """The admin key the server wrote on its first start."""
        return self.admin_key_file.read_text().strip()

    def client(self, key: str | None = None) -> httpx.Client:
        """An API client sending ``key`` (default: the server's first admin key)."""
        token = key if key is not None else self.admin_key
        return httpx.Client(
            base_url=f"{self.url}/api/v1", timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def interrupt(self) -> int:
        """Ctrl-C; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[Server] = []

    def make(workers: int = 1) -> Server:
        server = Server(f"sqlite:///{tmp_path / 'runtree.db'}", workers=workers)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()
