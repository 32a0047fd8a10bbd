"""Launchers start worker processes; a :class:`WorkerProcess` is one running execution process.

* :class:`ZygoteLauncher` (the server): forks children of a warm zygote -- about a millisecond.
* :class:`SpawnLauncher` (one-off CLI runs): starts a fresh interpreter per execution.

Either way the worker is the leader of its own process group, so killing the group kills
everything it started.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import Any, Protocol


class WorkerProcess(Protocol):
    pid: int

    def wait(self, timeout: float) -> int | None:
        """The return code once the process ended (negative: killed by that signal), or
        ``None`` if it is still running after ``timeout`` seconds."""

    def kill(self) -> None:
        """SIGKILL the process group."""


class Launcher(Protocol):
    def start(self, job_fd: int, message_fd: int) -> WorkerProcess:
        """Start a worker reading its job from ``job_fd`` and reporting on ``message_fd``.
        The caller closes its copies of both descriptors afterwards."""

    def close(self) -> None: ...


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def worker_command(*args: str) -> list[str]:
    # -I: no user site, no PYTHON* variables, no current directory on sys.path.
    return [sys.executable, "-I", "-m", *args]


class _SpawnedProcess:
    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self.popen = popen
        self.pid = popen.pid

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        kill_group(self.pid)


class SpawnLauncher:
    """A new interpreter per execution (slower to start, nothing long-lived)."""

    def start(self, job_fd: int, message_fd: int) -> WorkerProcess:
        popen = subprocess.Popen(
            worker_command("runtree.execution.worker", str(job_fd), str(message_fd)),
            pass_fds=(job_fd, message_fd),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return _SpawnedProcess(popen)

    def close(self) -> None:
        pass


class _ZygoteChild:
    def __init__(self, pid: int, exited: Future[int]) -> None:
        self.pid = pid
        self._exited = exited

    def wait(self, timeout: float) -> int | None:
        try:
            return self._exited.result(timeout)
        except TimeoutError:
            return None

    def kill(self) -> None:
        kill_group(self.pid)


class ZygoteError(RuntimeError):
    """The zygote could not start a worker."""


class ZygoteLauncher:
    """Forks workers from a warm zygote process (restarted if it dies)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._spawns: dict[int, Future[tuple[int, Future[int]]]] = {}
        self._exits: dict[int, Future[int]] = {}
        self._socket: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def _ensure_started(self) -> socket.socket:
        if self._socket is not None and self._process is not None and self._process.poll() is None:
            return self._socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            worker_command("runtree.execution.zygote", str(theirs.fileno())),
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()
        self._socket = ours
        threading.Thread(
            target=self._read, args=(ours,), name="runtree-zygote", daemon=True
        ).start()
        return ours

    def _read(self, control: socket.socket) -> None:
        while True:
            try:
                message = control.recv(4096)
            except OSError:
                message = b""
            if not message:
                break
            notice = json.loads(message)
            if "pid" in notice:
                pid = int(notice["pid"])
                exited: Future[int] = Future()
                with self._lock:
                    self._exits[pid] = exited  # before any exit notice for pid is read
                    spawn = self._spawns.pop(int(notice["id"]), None)
                if spawn is not None:
                    spawn.set_result((pid, exited))
            elif "exit" in notice:
                with self._lock:
                    ended = self._exits.pop(int(notice["exit"]), None)
                if ended is not None:
                    ended.set_result(int(notice["returncode"]))
        # The zygote is gone: nobody will report on its children any more.
        with self._lock:
            pending: list[Future[Any]] = [*self._spawns.values(), *self._exits.values()]
            self._spawns.clear()
            self._exits.clear()
        for future in pending:
            if not future.done():
                future.set_exception(ZygoteError("the zygote process stopped"))

    def start(self, job_fd: int, message_fd: int) -> WorkerProcess:
        with self._lock:
            control = self._ensure_started()
            request_id = next(self._ids)
            spawned: Future[tuple[int, Future[int]]] = Future()
            self._spawns[request_id] = spawned
            try:
                socket.send_fds(
                    control, [json.dumps({"id": request_id}).encode()], [job_fd, message_fd]
                )
            except OSError as error:
                self._spawns.pop(request_id, None)
                raise ZygoteError(f"could not reach the zygote: {error}") from error
        pid, exited = spawned.result(timeout=30)
        return _ZygoteChild(pid, exited)

    def close(self) -> None:
        with self._lock:
            control, process = self._socket, self._process
            self._socket = self._process = None
        if control is not None:
            # shutdown, not just close: the reader thread blocked in recv() keeps the socket
            # open past close(), so the zygote would never see the end of the connection.
            with contextlib.suppress(OSError):
                control.shutdown(socket.SHUT_RDWR)
            control.close()
        if process is not None:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
