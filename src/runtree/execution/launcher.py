"""Launchers start worker processes; a :class:`WorkerProcess` is one running execution process.

* :class:`~.zygote_launcher.ZygoteLauncher` (the server): children of a warm zygote, which
  keeps one forked and warmed up in advance and compiles each function version once (see
  :mod:`.zygote`).
* :class:`SpawnLauncher` (one-off CLI runs): starts a fresh interpreter per execution, which
  reads its job from a pipe.

Either way the worker is the leader of its own process group, so killing the group kills
everything it started -- except what left the group (``setsid()``): with the sandbox on,
:meth:`Launcher.kill_user` kills every process of an execution's slot uid.

Each launcher has its :class:`~runtree.execution.sandbox.slots.Sandbox` (by default this
process's, probed once: :func:`~runtree.execution.sandbox.slots.default_sandbox`). Sandboxed,
workers run in the world-readable runtime Python, started as root with a clean environment,
and confine themselves to the policy in their job before running any of it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Protocol

from .sandbox import interpreter
from .sandbox.slots import Sandbox, default_sandbox
from .world.reach import HTTP

REAP_GRACE_S = 5.0  # how long a closing SpawnLauncher lets a worker finish exiting


class WorkerProcess(Protocol):
    @property
    def pid(self) -> int:
        """The process id (it may take a moment to be known)."""

    def wait(self, timeout: float) -> int | None:
        """The return code once the process ended (negative: killed by that signal), or
        ``None`` if it is still running after ``timeout`` seconds."""

    def kill(self) -> None:
        """SIGKILL the process group."""


class Launcher(Protocol):
    sandbox: Sandbox

    def kill_user(self, uid: int) -> bool:
        """SIGKILL every process of the slot uid ``uid`` (and return once it is sent):
        whether there was any (unreaped zombies count)."""

    def start(
        self,
        job: bytes,
        message_fd: int,
        slot: tuple[str, ...] = (),
        *,
        reach: str = HTTP,
    ) -> WorkerProcess:
        """Start a worker for ``job`` (:meth:`~runtree.execution.job.Job.to_json`) that
        reports on ``message_fd``; the caller closes its copy of ``message_fd`` afterwards.
        A worker that dies before it has its job is not an error here: the supervisor
        classifies it by how it ended. ``slot``: the cgroup.procs files of the dispatcher
        slot the job runs in, which its policy joins (a hint: a launcher may keep a worker
        ready in them). ``reach``: what of the outside world the job's process must have
        patched (:attr:`~runtree.execution.job.Job.world_reach`): a worker with less
        patched may run a job that needs less (a hint too)."""

    def close(self) -> None: ...


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def write_job(fd: int, data: bytes, deadline: float | None = None) -> bool:
    """Write ``data`` to the pipe ``fd`` and close it. False when the reader is gone (or,
    with a ``deadline`` on ``time.monotonic()``, did not take it in time)."""
    try:
        view = memoryview(data)
        if deadline is not None:
            os.set_blocking(fd, False)
        while view:
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                remaining = deadline - time.monotonic() if deadline is not None else None
                if remaining is not None and remaining <= 0:
                    return False
                select.select([], [fd], [], remaining)
                continue
            view = view[written:]
        return True
    except BrokenPipeError:
        return False
    finally:
        os.close(fd)


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
    """A new interpreter per execution (slower to start, nothing long-lived).

    A worker may still be exiting when the supervisor is done with it: the launcher reaps its
    workers (the finished ones at each start, all of them on close)."""

    def __init__(self, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox if sandbox is not None else default_sandbox()
        self._lock = threading.Lock()
        self._processes: list[subprocess.Popen[bytes]] = []

    def kill_user(self, uid: int) -> bool:
        return self.sandbox.kill_user(uid)

    def start(
        self,
        job: bytes,
        message_fd: int,
        slot: tuple[str, ...] = (),
        *,
        reach: str = HTTP,
    ) -> WorkerProcess:
        job_r, job_w = os.pipe()
        args = ("runtree.execution.worker", str(job_r), str(message_fd))
        sandboxed = self.sandbox.enabled
        try:
            popen = subprocess.Popen(
                interpreter.python_command(self.sandbox.python, *args)
                if sandboxed
                else worker_command(*args),
                pass_fds=(job_r, message_fd),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=interpreter.clean_environment() if sandboxed else None,
            )
        except BaseException:
            os.close(job_w)
            raise
        finally:
            os.close(job_r)
        with self._lock:
            self._processes = [p for p in self._processes if p.poll() is None]
            self._processes.append(popen)
        write_job(job_w, job)  # a worker that died first is classified by the supervisor
        return _SpawnedProcess(popen)

    def close(self) -> None:
        with self._lock:
            processes, self._processes = self._processes, []
        for popen in processes:
            try:
                popen.wait(REAP_GRACE_S)
            except subprocess.TimeoutExpired:
                kill_group(popen.pid)
                popen.wait()
