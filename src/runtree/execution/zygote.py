"""The zygote: a warm process that forks one child per execution.

Starting Python and importing runtree costs tens of milliseconds; forking a process that has
already done so costs about one. The server starts one zygote (``python -I -m
runtree.execution.zygote CONTROL_FD``) and talks to it over a ``SOCK_SEQPACKET`` socket:

* server -> zygote: ``{"id": n}`` with two file descriptors attached (the job pipe's read end
  and the message pipe's write end); the server then writes the job to the job pipe and
  closes it;
* zygote -> server: ``{"id": n, "pid": pid}`` once a child has the job, and ``{"exit": pid,
  "returncode": rc}`` when a child ends (``rc < 0``: killed by signal ``-rc``).

A child is the leader of its own session (process group) and runs
:func:`runtree.execution.worker.run_job`. For each request the zygote reads the job to its end
and hands it, with the message pipe, to a *spare* child, forked and warmed up in advance
(:mod:`.zygote_spares`); then it parses the job and compiles its functions
(:class:`CodeCache`: once per version, so children do not instrument the same source on every
run), and forks the next spare, which inherits the compiled code. Without a usable spare (the
first request, or a spare that died) the zygote compiles first and forks a child for the job
itself.

Sandboxed, a request may name the cgroups of its dispatcher slot (``{"id": n, "cgroups":
[...]}``, the ``cgroup.procs`` files its policy joins): the zygote keeps a spare per recently
used slot that joined them before its job arrives. ``{"forget_cgroups": [...]}`` (the slot's
jobs go to another zygote now) ends the slot's spare here.

The zygote is single-threaded (forking is safe) and runs no user code itself: compiling a
module does not run it.

Sandboxed (``--sandbox``; see :mod:`runtree.execution.sandbox`), the zygote runs as root in the
world-readable runtime Python, prepares the confinement once (bindings, readable paths,
compiled seccomp filters), and each child confines itself to the policy in its job before it
compiles or runs any of the job's code. The zygote is also the *subreaper* of everything its
children start: orphans (a double-forked ``setsid()`` daemon) become its children and are
reaped, and on request (``{"id": n, "kill_uid": uid}`` -> ``{"killed": n, "found": bool}``)
it forks a helper that becomes ``uid`` and kills every process of that uid -- the slot's, and
only the slot's -- saying whether there was any.
A child's standard input and output are ``/dev/null``: what it prints is captured in the
process, and writes to file descriptor 1 reach nobody.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import select
import signal
import socket
import sys
import types
from collections.abc import Callable

from .code_cache import CodeCache
from .job import Job
from .worker import preload, run_job, warm_up
from .world import hold as hold_world
from .world import prepare as prepare_world
from .world import warm_up as warm_up_world
from .zygote_spares import GENERAL, SpareKey, Spares

EX_SOFTWARE = 70  # a worker's exit code when the worker itself failed


# Sessions started and stopped before forking. CPython specializes a function's bytecode in
# place once it has run a few dozen times: a session run that often here is specialized once,
# for every child, instead of in each one, where writing it copies the page it is on (a
# child's first session: 54 page copies instead of 67, 188 us instead of 233; a warmed-up
# one 35 us instead of 42).
WORLD_WARM_UPS = 64

PR_SET_CHILD_SUBREAPER = 36
MIN_SLOT_UID = 1000  # never kill(-1) as a uid below this (root, system accounts)


def _become_subreaper() -> None:
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def kill_user(uid: int) -> bool:
    """In a forked helper: become ``uid``, then SIGKILL every process of it (atomically with
    respect to fork: a fork bomb cannot outrun it). Refuses anything that is not a plain
    slot uid: ``kill(-1)`` as root would kill the whole host. True unless ``kill`` said there
    was no process at all (it rarely can: see :func:`clear_uid
    <runtree.execution.sandbox.processes.clear_uid>`)."""
    if uid < MIN_SLOT_UID or uid == os.getuid():
        # (Not root, runs share the server's own uid: kill(-1) would end the user's session.)
        raise ValueError(f"refusing to kill the processes of uid {uid}")
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if os.getuid() == uid and os.geteuid() == uid and uid >= MIN_SLOT_UID:
                try:
                    os.kill(-1, signal.SIGKILL)
                    code = 0  # some were there
                except ProcessLookupError:
                    code = 1  # none
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 2:
        raise OSError(f"could not kill the processes of uid {uid}")
    return code == 0


@dataclasses.dataclass(frozen=True)
class Options:
    """``--sandbox``: prepare the confinement children apply; ``--namespaces``: live in an
    empty network namespace (children are born there); ``--cgroups=PROCS,...``: join these
    groups (children are born there too); ``--no-http-recording``: do not patch the HTTP
    clients for recording (:mod:`.world`); ``--local-world``: do not patch them either, but
    hold the clock and randomness for children that record them (runs whose code cannot
    make requests: :mod:`.world.reach`)."""

    sandboxed: bool = False
    namespaces: bool = False
    cgroups: tuple[str, ...] = ()
    record_http: bool = True  # --no-http-recording, --local-world: leave the clients unpatched
    local_world: bool = False  # --local-world

    @property
    def holds_world(self) -> bool:
        """Whether children record the world: the clock and randomness held, their sessions
        warmed up, each child's recording made ready before it is forked."""
        return self.record_http or self.local_world

    @classmethod
    def parse(cls, args: list[str]) -> Options:
        cgroups: tuple[str, ...] = ()
        for arg in args:
            if arg.startswith("--cgroups="):
                cgroups = tuple(p for p in arg.removeprefix("--cgroups=").split(",") if p)
        return cls(
            "--sandbox" in args,
            "--namespaces" in args,
            cgroups,
            record_http="--no-http-recording" not in args and "--local-world" not in args,
            local_world="--local-world" in args,
        )


def _preload(options: Options | None = None) -> dict[str, types.CodeType]:
    """Import what every execution needs and run a tiny job, so children start warm; the
    tiny job's code, for spares to warm up with."""
    preload()
    if options is None or options.holds_world:
        http = options is None or options.record_http
        prepare_world(http)  # the HTTP clients patched once, before forking: no run pays for it
        hold_world()  # the clock and os.urandom too
        with contextlib.suppress(Exception):  # what a session builds once: shared too
            for _ in range(WORLD_WARM_UPS):
                warm_up_world(http=http)
    if options is not None and options.sandboxed:
        from .sandbox.confine import enter_private_network, prepare

        prepare()
        for procs in options.cgroups:  # best effort: the probe found them writable
            with contextlib.suppress(OSError), open(procs, "w") as file:
                file.write(str(os.getpid()))
        if options.namespaces:
            # Without it each child makes an empty network namespace of its own (slower).
            with contextlib.suppress(OSError):
                enter_private_network()

    # Warms the per-process caches instrumenting, recording and capturing need (tokenize's
    # compiled patterns, lazy imports ...), so that each child does not rebuild them.
    try:
        return warm_up()
    except Exception:
        return {}


def _read_job(job_fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(job_fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _prepare(data: bytes, cache: CodeCache) -> tuple[Job | None, dict[str, types.CodeType]]:
    """The job and its compiled functions; ``None`` for a job that does not parse (the child
    parses it again, fails and exits as a worker failure)."""
    try:
        job = Job.from_json(data)
    except Exception:
        return None, {}
    return job, cache.compile_job(job)


class Zygote:
    """The zygote's state: its control socket, its code cache, its running workers and its
    spare children (:class:`~.zygote_spares.Spares`)."""

    def __init__(self, control: socket.socket, options: Options | None = None) -> None:
        self.control = control
        self.options = options or Options()
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.cache = CodeCache()
        self.wake_r, self.wake_w = os.pipe()
        self.spares = Spares(self.options, self.cache, self._child)
        self.children: set[int] = set()  # running workers (each leads its process group)

    def serve(self) -> None:
        """Start a child per request until the server closes the control socket; then kill
        the process group of every worker still running (the server is gone: nobody would
        supervise them) and of every spare (one still warming up would linger)."""
        try:
            self._serve()
        finally:
            for pid in [*self.children, *self.spares.pids()]:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)

    def _serve(self) -> None:
        self.spares.warm_up_code = _preload(self.options)
        from .sandbox.confine import can_raise_priority

        # A spare may warm up at the lowest priority only if it can come back up (sandboxed
        # or not: unsandboxed, a spare warming up at the run's priority took CPU from it).
        self.spares.lower = can_raise_priority()
        self.spares.priority = os.getpriority(os.PRIO_PROCESS, 0)
        _become_subreaper()
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.spares.keep()
        control = self.control
        while True:
            readable, _, _ = select.select([control.fileno(), self.wake_r], [], [])
            if self.wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_r, 4096)
                self._reap()
            if control.fileno() in readable:
                try:
                    message, fds, _flags, _addr = socket.recv_fds(control, 4096, 2)
                except OSError:
                    return
                if not message:
                    return  # the server went away
                request = json.loads(message)
                if "kill_uid" in request:
                    for fd in fds:
                        os.close(fd)
                    self._kill_user(int(request["id"]), int(request["kill_uid"]))
                elif "forget_cgroups" in request:
                    for fd in fds:
                        os.close(fd)
                    self.spares.forget(tuple(str(p) for p in request["forget_cgroups"]))
                else:
                    slot = tuple(str(p) for p in request.get("cgroups") or ())
                    self._start(request["id"], fds[0], fds[1], slot)
                self._reap()
            self.spares.keep()

    def _start(
        self, request_id: int, job_fd: int, message_fd: int, slot: SpareKey = GENERAL
    ) -> None:
        try:
            data = _read_job(job_fd)
        except OSError:
            data = b""  # the child fails on it, as a worker failure
        finally:
            os.close(job_fd)
        pid = self.spares.hand(data, message_fd, slot)
        prepared = None
        if pid is None:
            prepared = job, codes = _prepare(data, self.cache)
            pid = os.fork()
            if pid == 0:
                self._child(lambda: self._run(data, job, codes, message_fd))
        os.close(message_fd)
        self.children.add(pid)
        self.control.send(json.dumps({"id": request_id, "pid": pid}).encode())
        if prepared is None:
            prepared = _prepare(data, self.cache)  # for the spares to come
        self.spares.started(pid, slot, prepared[0])

    def _kill_user(self, request_id: int, uid: int) -> None:
        error = None
        found = True
        try:
            found = kill_user(uid)
        except Exception as failure:
            error = str(failure)
        reply = {"killed": request_id, "found": found, "error": error}
        with contextlib.suppress(OSError):
            self.control.send(json.dumps(reply).encode())

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.spares.reaped(pid):
                continue
            self.children.discard(pid)
            notice = {"exit": pid, "returncode": os.waitstatus_to_exitcode(status)}
            with contextlib.suppress(OSError):
                self.control.send(json.dumps(notice).encode())

    # --- in a child ----------------------------------------------------------------------

    def _child(self, body: Callable[[], int]) -> None:
        """Become a worker process and run ``body``; never returns."""
        code = EX_SOFTWARE
        try:
            self.control.close()
            os.close(self.wake_r)
            os.close(self.wake_w)
            self.spares.close_sockets()
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (0, 1, 2):
                os.dup2(self.devnull, fd)
            os.close(self.devnull)
            os.setsid()
            # What the zygote built stays out of this process's garbage collections: walking
            # it would copy its memory pages into the child for nothing.
            gc.freeze()
            code = body()
        finally:
            os._exit(code)

    @staticmethod
    def _run(
        data: bytes, job: Job | None, codes: dict[str, types.CodeType], message_fd: int
    ) -> int:
        if job is None:
            job = Job.from_json(data)
        return run_job(job, message_fd, codes)


def serve(control: socket.socket, options: Options | None = None) -> None:
    """Start a child per request until the server closes the control socket."""
    Zygote(control, options).serve()


def main() -> None:
    """``CONTROL_FD [--sandbox [--namespaces] [--cgroups=PROCS,...]] [--no-http-recording]``."""
    control = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(control, Options.parse(sys.argv[2:]))
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
