"""The server's launcher: children of warm zygote processes (see :mod:`.zygote`).

:class:`ZygoteLauncher` keeps a zygote per kind of run it has seen -- by what of the outside
world a run's code can reach (:mod:`.world.reach`) -- and starts each worker by asking one to
fork; the common parts of every launcher are in :mod:`.launcher`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import subprocess
import threading
import time
from concurrent.futures import Future
from typing import Any

from ..errors import ZygoteError
from .launcher import WorkerProcess, kill_group, worker_command, write_job
from .sandbox import interpreter
from .sandbox.slots import Sandbox, default_sandbox
from .world.reach import HTTP, LOCAL, NONE

SPAWN_TIMEOUT_S = 30.0  # how long the zygote may take to give a job to a child
KILL_TIMEOUT_S = 10.0  # how long the zygote may take to kill a slot uid's processes


class _ZygoteChild:
    """A child of the zygote. Its pid arrives from the zygote just after the fork, while the
    child already runs: nothing waits for it unless the pid is needed."""

    def __init__(self, spawned: Future[tuple[int, Future[int]]], deadline: float) -> None:
        self._spawned = spawned
        self._deadline = deadline

    @property
    def pid(self) -> int:
        """Raises :class:`ZygoteError` if the zygote stopped before it reported the fork, and
        ``TimeoutError`` if it did not report it in time."""
        return self._spawned.result(max(0.0, self._deadline - time.monotonic()))[0]

    def wait(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        try:
            spawn_end = min(end, self._deadline)
            _pid, exited = self._spawned.result(max(0.0, spawn_end - time.monotonic()))
            return exited.result(max(0.0, end - time.monotonic()))
        except (TimeoutError, ZygoteError):  # not known (yet): the caller may kill()
            return None

    def kill(self) -> None:
        kill_group(self.pid)


class _Zygote:
    """One zygote process (a *generation*: a restarted zygote is a new one) with its control
    socket and the requests waiting for its answers. Its reader thread settles only these, so
    a zygote that dies can fail nothing but its own requests."""

    def __init__(self, process: subprocess.Popen[bytes], control: socket.socket) -> None:
        self.process = process
        self.control = control
        self.spawns: dict[int, Future[tuple[int, Future[int]]]] = {}
        self.exits: dict[int, Future[int]] = {}
        self.kills: dict[int, Future[bool]] = {}
        self.reader: threading.Thread | None = None  # settles the requests above

    def alive(self) -> bool:
        return self.process.poll() is None


class ZygoteLauncher:
    """Forks workers from a warm zygote process (restarted if it dies).

    Each request to the zygote carries the job pipe's read end and the message pipe's write
    end; the job is written to the pipe right after the request, and the zygote reads it to
    the end before a child gets it (see :mod:`.zygote`). :meth:`start` does not wait for the
    child's pid: it arrives while the child already runs. ``record_http``: the zygote patches
    the HTTP clients before it forks (deterministic replay, :mod:`.world`); off, runs use
    the clients as they are (and a deterministic replay patches them in its own process).

    Recording, the launcher keeps up to two more zygotes, each started with the first job
    that asks for it (``reach``, :mod:`.world.reach`): one that holds the clock and
    randomness but not the HTTP clients, for runs whose code cannot make requests, and one
    that holds nothing of the world, for runs whose code cannot read the clock or draw
    randomness either. Each of their children is a copy of a smaller process, which makes
    forking, warming up and ending each run cheaper (README, "Deterministic replay"). A
    dispatcher slot keeps a spare in one zygote at a time: when a slot's job goes to another
    zygote, the one that ran the slot before is told to forget it (its spare there ends).
    """

    def __init__(self, sandbox: Sandbox | None = None, *, record_http: bool = True) -> None:
        self.sandbox = sandbox if sandbox is not None else default_sandbox()
        self.record_http = record_http
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._zygote: _Zygote | None = None  # the main one (HTTP): every job by default
        self._lesser: dict[str, _Zygote] = {}  # by reach, LOCAL and NONE (recording only)
        self._slot_reach: dict[tuple[str, ...], str] = {}  # which zygote ran each slot last

    @property
    def _process(self) -> subprocess.Popen[bytes] | None:
        """The current zygote process, if one was started (for tests and diagnostics)."""
        zygote = self._zygote
        return zygote.process if zygote is not None else None

    def _zygote_of(self, reach: str) -> _Zygote | None:
        return self._zygote if reach == HTTP else self._lesser.get(reach)

    def _ensure_started(self, reach: str = HTTP) -> _Zygote:
        """The running zygote for jobs of ``reach``; a new one (generation) if there is none
        or it died. Called holding ``_lock``."""
        current = self._zygote_of(reach)
        if current is not None and current.alive():
            return current
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sandboxed = self.sandbox.enabled
        args: tuple[str, ...] = ("runtree.execution.zygote", str(theirs.fileno()))
        if not self.record_http or reach == NONE:
            args = (*args, "--no-http-recording")
        elif reach == LOCAL:
            args = (*args, "--local-world")
        try:
            process = subprocess.Popen(
                interpreter.python_command(
                    self.sandbox.python, *args, *self.sandbox.zygote_options()
                )
                if sandboxed
                else worker_command(*args),
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=interpreter.clean_environment() if sandboxed else None,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        zygote = _Zygote(process, ours)
        if reach == HTTP:
            self._zygote = zygote
        else:
            self._lesser[reach] = zygote
        zygote.reader = threading.Thread(
            target=self._read, args=(zygote,), name="runtree-zygote", daemon=True
        )
        zygote.reader.start()
        return zygote

    def _read(self, zygote: _Zygote) -> None:
        """Settle ``zygote``'s requests from its notices until its control socket ends."""
        while True:
            try:
                message = zygote.control.recv(4096)
            except OSError:
                message = b""
            if not message:
                break
            notice = json.loads(message)
            if "pid" in notice:
                pid = int(notice["pid"])
                exited: Future[int] = Future()
                with self._lock:
                    zygote.exits[pid] = exited  # before any exit notice for pid is read
                    spawn = zygote.spawns.pop(int(notice["id"]), None)
                if spawn is not None:
                    spawn.set_result((pid, exited))
            elif "exit" in notice:
                with self._lock:
                    ended = zygote.exits.pop(int(notice["exit"]), None)
                if ended is not None:
                    ended.set_result(int(notice["returncode"]))
            elif "killed" in notice:
                with self._lock:
                    killed = zygote.kills.pop(int(notice["killed"]), None)
                if killed is not None:
                    if notice.get("error"):
                        killed.set_exception(ZygoteError(str(notice["error"])))
                    else:
                        killed.set_result(bool(notice.get("found", True)))
        # This zygote is gone: nobody will report on its children any more. Only its own
        # requests fail; a zygote started since then has its own.
        with self._lock:
            pending: list[Future[Any]] = [
                *zygote.spawns.values(),
                *zygote.exits.values(),
                *zygote.kills.values(),
            ]
            zygote.spawns.clear()
            zygote.exits.clear()
            zygote.kills.clear()
        for future in pending:
            if not future.done():
                future.set_exception(ZygoteError("the zygote process stopped"))

    def kill_user(self, uid: int) -> bool:
        """Ask a zygote (root, single-threaded: it forks safely and fast) to kill every
        process of ``uid``, any running one (the main one is started if none is); a helper
        process of our own if it cannot. Nothing without uid separation (not root: there is
        no uid that only the run has)."""
        if not self.sandbox.separates_uids:
            return False
        done: Future[bool] = Future()
        request: tuple[_Zygote, int] | None = None
        try:
            with self._lock:
                running = [z for z in (self._zygote, *self._lesser.values()) if z is not None]
                zygote = next((z for z in running if z.alive()), None) or self._ensure_started()
                request = zygote, next(self._ids)
                zygote.kills[request[1]] = done
                zygote.control.send(json.dumps({"id": request[1], "kill_uid": uid}).encode())
            return done.result(KILL_TIMEOUT_S)
        except Exception:
            if request is not None:
                with self._lock:
                    request[0].kills.pop(request[1], None)
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
        request: dict[str, Any] = {}
        if slot:
            request["cgroups"] = list(slot)  # the zygote keeps a spare in them (.zygote_spares)
        if not self.record_http or reach not in (LOCAL, NONE):
            reach = HTTP  # the main zygote: it runs everything
        try:
            with self._lock:
                zygote = self._ensure_started(reach)
                if slot:
                    self._move_slot(slot, reach)
                request_id = next(self._ids)
                request["id"] = request_id
                spawned: Future[tuple[int, Future[int]]] = Future()
                zygote.spawns[request_id] = spawned
                try:
                    socket.send_fds(
                        zygote.control,
                        [json.dumps(request).encode()],
                        [job_r, message_fd],
                    )
                except OSError as error:
                    zygote.spawns.pop(request_id, None)
                    raise ZygoteError(f"could not reach the zygote: {error}") from error
        except BaseException:
            os.close(job_w)
            raise
        finally:
            os.close(job_r)
        deadline = time.monotonic() + SPAWN_TIMEOUT_S
        # Not written in full: the zygote died (the reader thread then fails ``spawned``) or
        # is stuck (``spawned`` times out); the child's pid says which, when it is needed.
        write_job(job_w, job, deadline)
        return _ZygoteChild(spawned, deadline)

    def _move_slot(self, slot: tuple[str, ...], reach: str) -> None:
        """``slot``'s job goes to the zygote for ``reach``: another one, if it ran the slot
        last, ends its spare there and forgets the slot. Called holding ``_lock``; best
        effort (a zygote that is gone keeps no spare)."""
        before = self._slot_reach.get(slot)
        self._slot_reach[slot] = reach
        if before is None or before == reach:
            return
        other = self._zygote_of(before)
        if other is not None and other.alive():
            with contextlib.suppress(OSError):
                other.control.send(json.dumps({"forget_cgroups": list(slot)}).encode())

    def close(self) -> None:
        with self._lock:
            zygotes = [self._zygote, *self._lesser.values()]
            self._zygote = None
            self._lesser = {}
        for zygote in zygotes:
            if zygote is not None:
                self._close(zygote)

    @staticmethod
    def _close(zygote: _Zygote) -> None:
        # shutdown, not just close: the reader thread blocked in recv() keeps the socket open
        # past close(), so the zygote would never see the end of the connection.
        with contextlib.suppress(OSError):
            zygote.control.shutdown(socket.SHUT_RDWR)
        zygote.control.close()
        try:
            zygote.process.wait(5)
        except subprocess.TimeoutExpired:
            zygote.process.kill()
            zygote.process.wait()
