"""The zygote's spare children: forked before their job, warmed up, waiting for it.

To keep forking, and a new process's first steps, out of an execution's time, the zygote
(:mod:`.zygote`) keeps one *spare* child ready: forked in advance, warmed up (it runs a tiny
job of its own, so the memory a run touches is already its own), waiting for a job on a
socket of its own. For each request the zygote reads the job to its end and hands it, with
the message pipe, to the spare (:meth:`Spares.hand`: the job's size with the message pipe
attached, then the job); then it parses the job and compiles its functions, and forks the
next spare (:meth:`Spares.keep`), which inherits the compiled code. (A spare killed from
outside just as it is given a job ends that execution ``crashed``, like any worker killed
while it runs.) After :data:`SPARE_FAILURES` spares in a row that died unused (or could not
be forked), the zygote keeps none: requests fork their own child.

A spare warms up at the lowest priority (when the zygote may raise it again: it has
CAP_SYS_NICE), so that it never slows the executions running meanwhile, and waits for its
job at the zygote's own priority: once it has a job it is on the request path.

Sandboxed, a request may name the cgroups of its dispatcher slot. Moving a process into a
cgroup waits for the kernel (an RCU grace period: a quarter of a millisecond on an idle host,
tens on a busy one), so the zygote also keeps a spare per recently used slot (at most
:data:`MAX_SLOT_SPARES`) that joined them before its job arrives, and entered the private
mount, IPC and UTS namespaces of the slot's last policy (the next one's is most likely the
same); confinement then skips what was done for a policy like its own
(:func:`~.sandbox.confine.enter_slot`). A slot's spare is forked only once the slot's last
worker has exited: it never shares the slot's groups with a run. It is still root and
otherwise unconfined while it waits (it runs none of a job's code before it confines
itself), so nothing of the slot's uid is left between runs. When the slot's jobs go to
another zygote, :meth:`Spares.forget` ends its spare here.

Everything here runs in the zygote's single thread but :meth:`Spares.wait` and the warm-up:
they run in the spare itself.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import select
import signal
import socket
import struct
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .code_cache import CodeCache
from .job import Job
from .worker import run_job, warm_up, warm_up_thread
from .world import seed_ready as seed_ready_world
from .world import warm_up as warm_up_world

if TYPE_CHECKING:  # annotations only: the zygote imports this module
    from .zygote import Options

# How long handing a job to the spare may take before the zygote gives up on that spare.
SPARE_SEND_TIMEOUT_S = 5.0
# Spares that die unused, one after the other, before the zygote stops keeping any.
SPARE_FAILURES = 3
SPARE_NICE = 19

_HEADER = struct.Struct("!Q")  # the size of the job that follows, to a spare

# The cgroups a spare joined in advance: a slot's; () for the general spare, which joins none.
SpareKey = tuple[str, ...]
GENERAL: SpareKey = ()
MAX_SLOT_SPARES = 64  # slots with a spare of their own (the most recently used ones)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("the zygote went away")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


@dataclasses.dataclass
class _Spare:
    pid: int
    sock: socket.socket  # the zygote's end
    key: SpareKey = GENERAL


class Spares:
    """The zygote's spares: a general one, and one per recently used slot whose workers
    have all exited, each waiting for a job on its socket.

    The zygote owns the processes: ``child`` makes a forked process one of its children (and
    never returns). Before the
    first spare is forked, the zygote sets :attr:`warm_up_code` (the tiny job's code),
    :attr:`lower` (whether it can raise a spare's priority again) and :attr:`priority` (its
    own)."""

    def __init__(
        self,
        options: Options,
        cache: CodeCache,
        child: Callable[[Callable[[], int]], None],
    ) -> None:
        self.options = options
        self.cache = cache
        self._child = child
        self.lower = False
        self.priority = 0  # the zygote's own: a spare's once it is warm, or has a job
        self.warm_up_code: dict[str, types.CodeType] = {}
        self.waiting: dict[SpareKey, _Spare] = {}
        self.failures = 0
        # Slots seen in requests (most recent last) with the sandbox policy of their last
        # job, and the slot of each running worker started for one: a slot's spare is forked
        # once its last worker has exited.
        self.slots: collections.OrderedDict[SpareKey, dict[str, Any] | None] = (
            collections.OrderedDict()
        )
        self.slot_of: dict[int, SpareKey] = {}
        self.dropped: set[int] = set()  # spares killed unused: nobody waits for their exit

    def pids(self) -> list[int]:
        """The pids of the spares waiting for a job (each leads its process group)."""
        return [spare.pid for spare in self.waiting.values()]

    def hand(self, data: bytes, message_fd: int, slot: SpareKey) -> int | None:
        """Give the job to the slot's spare, else to the general one; the pid of the one
        that has it, or ``None`` without a usable spare."""
        for key in (slot, GENERAL) if slot else (GENERAL,):
            spare = self.waiting.pop(key, None)
            if spare is not None:
                pid = self._hand_to(spare, data, message_fd)
                if pid is not None:
                    return pid
        return None

    def _hand_to(self, spare: _Spare, data: bytes, message_fd: int) -> int | None:
        if select.select([spare.sock], [], [], 0)[0]:  # it never writes: readable means gone
            spare.sock.close()
            self.failures += 1
            return None
        if self.lower:
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
            self.failures += 1
            return None
        finally:
            spare.sock.close()
        self.failures = 0
        return spare.pid

    def started(self, pid: int, slot: SpareKey, job: Job | None) -> None:
        """A worker ``pid`` runs a job (``None``: one that does not parse) for ``slot``:
        sandboxed, the slot is the most recently used, keeps no spare while the worker
        runs, and its next spare prepares for the job's policy; the least recently used
        slots past :data:`MAX_SLOT_SPARES` lose theirs."""
        if slot and self.options.sandboxed:
            self.slot_of[pid] = slot
            self.slots[slot] = job.sandbox if job is not None else None
            self.slots.move_to_end(slot)
            while len(self.slots) > MAX_SLOT_SPARES:
                old, _ = self.slots.popitem(last=False)
                self._drop(old)

    def forget(self, slot: SpareKey) -> None:
        """The slot's jobs go to another zygote now: end this one's spare in the slot and
        keep none there until a job for the slot comes here again."""
        if slot:
            self.slots.pop(slot, None)
            self._drop(slot)

    def _drop(self, key: SpareKey) -> None:
        spare = self.waiting.pop(key, None)
        if spare is not None:
            spare.sock.close()  # it exits when it sees the end of its socket
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(spare.pid, signal.SIGKILL)
            self.dropped.add(spare.pid)

    def keep(self) -> None:
        """A general spare, and one per recently used slot whose workers have all exited
        (a spare in the slot's cgroups must not share them with a run)."""
        busy = set(self.slot_of.values())
        for key in (GENERAL, *self.slots):
            if self.failures >= SPARE_FAILURES:
                return
            if key not in self.waiting and key not in busy:
                self._fork(key)

    def _fork(self, key: SpareKey) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: requests fork their own child
            ours.close()
            theirs.close()
            self.failures += 1
            return
        if pid == 0:
            ours.close()
            self._child(lambda: self.wait(theirs, key, self.slots.get(key)))
        theirs.close()
        ours.settimeout(SPARE_SEND_TIMEOUT_S)
        self.waiting[key] = _Spare(pid, ours, key)

    def reaped(self, pid: int) -> bool:
        """``pid`` has ended: True if it was a spare (one that died before it had a job, or
        one dropped), else a worker, whose slot may have a spare again."""
        spare = next((s for s in self.waiting.values() if s.pid == pid), None)
        if spare is not None:  # died before it had a job
            spare.sock.close()
            del self.waiting[spare.key]
            self.failures += 1
            return True
        if pid in self.dropped:
            self.dropped.discard(pid)
            return True
        self.slot_of.pop(pid, None)
        return False

    def close_sockets(self) -> None:
        """In a child just forked: close the zygote's ends of the spares' sockets."""
        for spare in self.waiting.values():
            spare.sock.close()

    # --- in a spare ----------------------------------------------------------------------

    def wait(
        self,
        sock: socket.socket,
        slot: SpareKey = GENERAL,
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
        if self.lower:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, SPARE_NICE)
        if slot and self.options.sandboxed:
            from .sandbox.confine import enter_slot

            enter_slot(slot, template)  # best effort: confinement does what this did not
        warm_until_job(sock, self._warm_up_steps())
        if self.lower:
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
