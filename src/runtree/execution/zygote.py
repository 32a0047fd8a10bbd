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
:func:`runtree.execution.worker.run_job`. To keep forking, and a new process's first steps,
out of an execution's time, the zygote keeps one *spare* child ready: forked in advance,
warmed up (it runs a tiny job of its own, so the memory a run touches is already its own),
waiting for a job on a socket of its own. For each request the zygote reads the job to its end
and hands it, with the message pipe, to the spare; then it parses the job and compiles its
functions (:class:`CodeCache`: once per version, so children do not instrument the same source
on every run), and forks the next spare, which inherits the compiled code. Without a usable
spare (the first request, or a spare that died) the zygote compiles first and forks a child for
the job itself. (A spare killed from outside just as it is given a job ends that execution
``crashed``, like any worker killed while it runs.)

A spare warms up at the lowest priority (when the zygote may raise it again: it has
CAP_SYS_NICE), so that it never slows the executions running meanwhile, and waits for its
job at the zygote's own priority: once it has a job it is on the request path.

Sandboxed, a request may name the cgroups of its dispatcher slot (``{"id": n, "cgroups":
[...]}``, the ``cgroup.procs`` files its policy joins). Moving a process into a cgroup waits
for the kernel (an RCU grace period: a quarter of a millisecond on an idle host, tens on a
busy one), so the zygote also keeps a spare per recently used slot (at most
:data:`MAX_SLOT_SPARES`) that joined them before its job arrives, and entered the private
mount, IPC and UTS namespaces of the slot's last policy (the next one's is most likely the
same); confinement then skips what was done for a policy like its own
(:func:`~.sandbox.confine.enter_slot`). A slot's spare is forked only once the slot's last
worker has exited: it never shares the slot's groups with a run. It is still root and
otherwise unconfined while it waits (it runs none of a job's code before it confines
itself), so nothing of the slot's uid is left between runs.

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

import collections
import contextlib
import dataclasses
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import types
from collections.abc import Callable
from typing import Any

from .code_cache import CodeCache
from .job import Job
from .worker import preload, run_job, warm_up, warm_up_thread
from .world import hold as hold_world
from .world import prepare as prepare_world
from .world import ready_child as ready_world_child
from .world import seed_ready as seed_ready_world
from .world import warm_up as warm_up_world

# How long handing a job to the spare may take before the zygote gives up on that spare.
SPARE_SEND_TIMEOUT_S = 5.0
# Spares that die unused, one after the other, before the zygote stops keeping any.
SPARE_FAILURES = 3
EX_SOFTWARE = 70  # a worker's exit code when the worker itself failed

_HEADER = struct.Struct("!Q")  # the size of the job that follows, to a spare


# Sessions started and stopped before forking. CPython specializes a function's bytecode in
# place once it has run a few dozen times: a session run that often here is specialized once,
# for every child, instead of in each one, where writing it copies the page it is on (a
# child's first session: 54 page copies instead of 67, 188 us instead of 233; a warmed-up
# one 35 us instead of 42).
WORLD_WARM_UPS = 64

PR_SET_CHILD_SUBREAPER = 36
SPARE_NICE = 19
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


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the zygote went away")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# The cgroups a spare joined in advance: a slot's; () for the general spare, which joins none.
_SpareKey = tuple[str, ...]
GENERAL: _SpareKey = ()
MAX_SLOT_SPARES = 64  # slots with a spare of their own (the most recently used ones)


@dataclasses.dataclass
class _Spare:
    pid: int
    sock: socket.socket  # the zygote's end
    key: _SpareKey = GENERAL


class Zygote:
    """The zygote's state: its control socket, its code cache and its spare child."""

    def __init__(self, control: socket.socket, options: Options | None = None) -> None:
        self.control = control
        self.options = options or Options()
        self.lower_spares = False
        self.priority = 0  # the zygote's own: a spare's once it is warm, or has a job
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.cache = CodeCache()
        self.wake_r, self.wake_w = os.pipe()
        self.spares: dict[_SpareKey, _Spare] = {}
        self.spare_failures = 0
        self.children: set[int] = set()  # running workers (each leads its process group)
        # Slots seen in requests (most recent last) with the sandbox policy of their last
        # job, and the slot of each running worker started for one: a slot's spare is forked
        # once its last worker has exited.
        self.slots: collections.OrderedDict[_SpareKey, dict[str, Any] | None] = (
            collections.OrderedDict()
        )
        self.slot_of: dict[int, _SpareKey] = {}
        self.dropped: set[int] = set()  # spares killed unused: nobody waits for their exit
        self.warm_up_code: dict[str, types.CodeType] = {}

    def serve(self) -> None:
        """Start a child per request until the server closes the control socket; then kill
        the process group of every worker still running (the server is gone: nobody would
        supervise them) and of every spare (one still warming up would linger)."""
        try:
            self._serve()
        finally:
            for pid in [*self.children, *(spare.pid for spare in self.spares.values())]:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)

    def _serve(self) -> None:
        self.warm_up_code = _preload(self.options)
        from .sandbox.confine import can_raise_priority

        # A spare may warm up at the lowest priority only if it can come back up (sandboxed
        # or not: unsandboxed, a spare warming up at the run's priority took CPU from it).
        self.lower_spares = can_raise_priority()
        self.priority = os.getpriority(os.PRIO_PROCESS, 0)
        _become_subreaper()
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self._keep_spares()
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
                    self._forget_slot(tuple(str(p) for p in request["forget_cgroups"]))
                else:
                    slot = tuple(str(p) for p in request.get("cgroups") or ())
                    self._start(request["id"], fds[0], fds[1], slot)
                self._reap()
            self._keep_spares()

    def _start(
        self, request_id: int, job_fd: int, message_fd: int, slot: _SpareKey = GENERAL
    ) -> None:
        try:
            data = _read_job(job_fd)
        except OSError:
            data = b""  # the child fails on it, as a worker failure
        finally:
            os.close(job_fd)
        pid = self._hand_to_spare(data, message_fd, slot)
        prepared = None
        if pid is None:
            prepared = job, codes = _prepare(data, self.cache)
            self._ready_child()
            pid = os.fork()
            if pid == 0:
                self._child(lambda: self._run(data, job, codes, message_fd))
        os.close(message_fd)
        self.children.add(pid)
        self.control.send(json.dumps({"id": request_id, "pid": pid}).encode())
        if prepared is None:
            prepared = _prepare(data, self.cache)  # for the spares to come
        if slot and self.options.sandboxed:
            self.slot_of[pid] = slot
            job = prepared[0]
            self.slots[slot] = job.sandbox if job is not None else None
            self.slots.move_to_end(slot)
            while len(self.slots) > MAX_SLOT_SPARES:
                old, _ = self.slots.popitem(last=False)
                self._drop_spare(old)

    def _forget_slot(self, slot: _SpareKey) -> None:
        """The slot's jobs go to another zygote now: end this one's spare in the slot and
        keep none there until a job for the slot comes here again."""
        if slot:
            self.slots.pop(slot, None)
            self._drop_spare(slot)

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

    def _hand_to_spare(self, data: bytes, message_fd: int, slot: _SpareKey) -> int | None:
        """Give the job to the slot's spare, else to the general one; the pid of the one
        that has it, or ``None`` without a usable spare."""
        for key in (slot, GENERAL) if slot else (GENERAL,):
            spare = self.spares.pop(key, None)
            if spare is not None:
                pid = self._hand_to(spare, data, message_fd)
                if pid is not None:
                    return pid
        return None

    def _hand_to(self, spare: _Spare, data: bytes, message_fd: int) -> int | None:
        if select.select([spare.sock], [], [], 0)[0]:  # it never writes: readable means gone
            spare.sock.close()
            self.spare_failures += 1
            return None
        if self.lower_spares:
            # It may still be warming up at the lowest priority: from now on it runs an
            # execution, which must not wait behind everything else on a busy host.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, spare.pid, self.priority)
        try:
            socket.send_fds(spare.sock, [_HEADER.pack(len(data))], [message_fd])
            spare.sock.sendall(data)
        except OSError:  # it died, or is stuck: make sure it is gone, use a new child
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(spare.pid, signal.SIGKILL)
            self.spare_failures += 1
            return None
        finally:
            spare.sock.close()
        self.spare_failures = 0
        return spare.pid

    def _drop_spare(self, key: _SpareKey) -> None:
        spare = self.spares.pop(key, None)
        if spare is not None:
            spare.sock.close()  # it exits when it sees the end of its socket
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(spare.pid, signal.SIGKILL)
            self.dropped.add(spare.pid)

    def _keep_spares(self) -> None:
        """A general spare, and one per recently used slot whose workers have all exited
        (a spare in the slot's cgroups must not share them with a run)."""
        busy = set(self.slot_of.values())
        for key in (GENERAL, *self.slots):
            if self.spare_failures >= SPARE_FAILURES:
                return
            if key not in self.spares and key not in busy:
                self._fork_spare(key)

    def _fork_spare(self, key: _SpareKey) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._ready_child()
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: requests fork their own child
            ours.close()
            theirs.close()
            self.spare_failures += 1
            return
        if pid == 0:
            ours.close()
            self._child(lambda: self._wait_as_spare(theirs, key, self.slots.get(key)))
        theirs.close()
        ours.settimeout(SPARE_SEND_TIMEOUT_S)
        self.spares[key] = _Spare(pid, ours, key)

    def _ready_child(self) -> None:
        """Before a fork: the next child's recording clock and entropy (a recording zygote;
        see :func:`.world.ready_child`)."""
        if self.options.holds_world:
            ready_world_child()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            spare = next((s for s in self.spares.values() if s.pid == pid), None)
            if spare is not None:  # died before it had a job
                spare.sock.close()
                del self.spares[spare.key]
                self.spare_failures += 1
                continue
            if pid in self.dropped:
                self.dropped.discard(pid)
                continue
            self.children.discard(pid)
            self.slot_of.pop(pid, None)
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
            for spare in self.spares.values():
                spare.sock.close()
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

    def _wait_as_spare(
        self,
        sock: socket.socket,
        slot: _SpareKey = GENERAL,
        template: dict[str, Any] | None = None,
    ) -> int:
        """Join the slot's cgroups and enter the private namespaces of ``template`` (a
        slot's spare: the policy of the slot's last job), warm up until a job is waiting,
        then run the job the zygote sends.

        A slot's spare does that before its job arrives; the job's confinement then skips
        what was done for a policy like its own (:func:`~.sandbox.confine.enter_slot`). A
        job that comes during the warm-up does not wait for the rest of it: each step is
        skipped once one is there (the run pays for what is still cold, less than waiting
        for all of it). The warm-up runs at the lowest priority, so that it never slows the
        executions that run meanwhile, the wait at the zygote's (the zygote raises a spare it
        gives a job to, should it still be warming up): from the moment it has a job until
        the job's policy sets the priority of the run, it is on the request path and must
        not queue behind everything else on a busy host."""
        if self.lower_spares:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, SPARE_NICE)
        if slot and self.options.sandboxed:
            from .sandbox.confine import enter_slot

            enter_slot(slot, template)  # best effort: confinement does what this did not
        warm_until_job(sock, self._warm_up_steps())
        if self.lower_spares:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, self.priority)
        header, fds, _flags, _addr = socket.recv_fds(sock, _HEADER.size, 1)
        if not header:
            return 0  # the zygote stopped: this spare is not needed
        message_fd = fds[0]
        if len(header) < _HEADER.size:
            header += _recv_exact(sock, _HEADER.size - len(header))
        data = _recv_exact(sock, _HEADER.unpack(header)[0])
        sock.close()
        job = Job.from_json(data)
        # Compiled once confined (sandboxed jobs): the source is the user's.
        return run_job(job, message_fd, lambda: self.cache.compile_job(job))

    def _warm_up_steps(self) -> list[Callable[[], object]]:
        """What a spare does while it waits, in order: a tiny job, a thread started and
        ended, a recording session started and stopped, the sandbox's preparations, and
        ``random`` seeded for the run's recording."""
        code = self.warm_up_code
        steps: list[Callable[[], object]] = [lambda: warm_up(code), warm_up_thread]
        if self.options.holds_world:
            # Without the zygote's HTTP request: copying the pages a recorded request
            # writes to saves a run that makes requests about 230 page copies, but costs
            # every spare about 1 ms of CPU, also for the runs that make none.
            http = self.options.record_http
            steps.append(lambda: warm_up_world(request=False, http=http))
        if self.options.sandboxed:
            from .sandbox.confine import warm

            steps.append(warm)
        if self.options.holds_world:
            steps.append(seed_ready_world)  # the last step: see .world.seed_ready
        return steps

    @staticmethod
    def _run(
        data: bytes, job: Job | None, codes: dict[str, types.CodeType], message_fd: int
    ) -> int:
        if job is None:
            job = Job.from_json(data)
        return run_job(job, message_fd, codes)


def warm_until_job(sock: socket.socket, steps: list[Callable[[], object]]) -> int:
    """Run ``steps`` (a spare's warm-up) in order until ``sock`` has something to read (its
    job); how many ran. A step that fails is passed over: warming up is an optimization."""
    done = 0
    for step in steps:
        if select.select([sock], [], [], 0)[0]:
            break
        with contextlib.suppress(Exception):
            step()
        done += 1
    return done


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
