"""The supervisor: runs one job in a worker process and decides how the execution ended.

It hands the job to its launcher, reads the worker's JSON lines (handing step batches to
``on_steps`` as they arrive), enforces the wall-clock deadline and cancellation by killing the
worker's process group, and classifies the end: ``succeeded``/``failed`` from the worker's own
report, ``timed_out``, ``cancelled``, or ``crashed`` (the process ended without reporting, e.g.
``os._exit``, a segfault or SIGKILL, or the platform stopped it at a limit -- the error's
type names which: ``CPUTimeExceeded``, ``MemoryLimitExceeded``, ``DiskLimitExceeded``,
``OutputLimitExceeded``). Everything a worker sends is checked against the worker protocol
(:mod:`.protocol`): a message that breaks it ends the execution ``crashed`` with a
``WorkerProtocolError`` ("worker protocol violation: ..."). Nothing read from a worker is ever
unpickled.

With the launcher's sandbox on, each run leases a slot uid and a fresh work directory
(:meth:`Sandbox.lease <runtree.execution.sandbox.slots.Sandbox.lease>`) and sends the
resulting policy inside the job; the supervisor watches the work directory's size, kills
every process of the slot uid when it stops a run, and hands the slot back for clean-up
(nothing of its uid left, work directory deleted) when the run is over.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import ProtocolViolation
from .job import Job
from .launcher import Launcher, WorkerProcess
from .protocol import (
    Checked,
    LimitMessage,
    PartialRecording,
    ResultMessage,
    StepsMessage,
    WorldMessage,
    parse_message,
)
from .sandbox.lease import Lease
from .worker import OUTPUT_LIMIT
from .world import empty_recording
from .world.reach import NONE

MAX_LINE = 256 * 1024 * 1024  # a worker sending more in one message is treated as crashed
MAX_MESSAGES = 512 * 1024 * 1024  # all a worker may send (steps, values, result)
KILL_GRACE_S = 2.0
DISK_CHECK_S = 0.1  # how often a sandboxed run's work directory is measured
MIB = 1024 * 1024
OUTPUT = "output"  # why a run was stopped, besides TIMED_OUT and CANCELLED
DISK = "disk"

SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
CRASHED = "crashed"


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """How an execution ended: its status, output (a captured-value dict) or error."""

    status: str
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    stdout: str = ""
    stdout_truncated: bool = False
    # The worker's last step batch, sent with its result; only with keep_final_steps.
    steps: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # What the run got from the outside world, or a replay's report (see .world), when the
    # job asked for it and the worker reported.
    world: dict[str, Any] | None = None


class Supervisor:
    """Runs jobs through ``launcher``; one supervisor can run many jobs concurrently."""

    def __init__(self, launcher: Launcher) -> None:
        self.launcher = launcher

    def run(
        self,
        job: Job,
        *,
        on_steps: Callable[[list[dict[str, Any]]], None],
        cancel: threading.Event | None = None,
        on_started: Callable[[int], None] | None = None,
        keep_final_steps: bool = False,
        slot: int | None = None,
    ) -> Outcome:
        """Run ``job`` to its end. Step batches go to ``on_steps`` as they arrive; with
        ``keep_final_steps``, the last batch, which a worker sends together with its result,
        is returned in :attr:`Outcome.steps` instead (for the caller to store with the end,
        in one go) -- unless the outcome is not the worker's own report (timed out,
        cancelled, crashed): then it too goes to ``on_steps``. ``slot``: the dispatcher slot
        (whose sandbox uid the run gets); ``None``: any free uid."""
        sandbox = self.launcher.sandbox
        lease = sandbox.lease(job, slot) if sandbox.enabled else None
        if lease is not None:
            job = dataclasses.replace(job, sandbox=lease.policy.to_dict())
        # Its code may reach nothing of the world: its process then records nothing, as a
        # run that records nothing, and its recording (a seed, nothing else) is made here.
        reach = job.world_reach
        job = job.for_worker()
        process: WorkerProcess | None = None
        try:
            message_r, message_w = os.pipe()
            try:
                # A slot's own cgroups (not a one-off uid's): the launcher may keep a worker
                # waiting in them.
                slot_groups = lease.policy.cgroup_procs if lease and not lease.dynamic else ()
                process = self.launcher.start(job.to_json(), message_w, slot_groups, reach=reach)
            except BaseException:
                os.close(message_r)
                raise
            finally:
                os.close(message_w)
            if on_started is not None:
                on_started(process.pid)
            try:
                outcome = self._watch(
                    job, process, message_r, on_steps, cancel, keep_final_steps, lease
                )
                if reach == NONE:
                    return dataclasses.replace(outcome, world={"recording": empty_recording()})
                return outcome
            except BaseException:  # e.g. on_steps failed: the worker must not run on
                self._stop(process, lease)
                raise
            finally:
                os.close(message_r)
        finally:
            if lease is not None:
                sandbox.release(
                    lease, self.launcher.kill_user, process.wait if process is not None else None
                )

    def _watch(
        self,
        job: Job,
        process: WorkerProcess,
        message_fd: int,
        on_steps: Callable[[list[dict[str, Any]]], None],
        cancel: threading.Event | None,
        keep_final_steps: bool,
        lease: Lease | None = None,
    ) -> Outcome:
        deadline = time.monotonic() + job.timeout_s
        watch_disk = lease is not None and not lease.tmpfs
        next_disk_check = time.monotonic() + DISK_CHECK_S
        received = 0
        buffer = bytearray()
        result: Checked | None = None  # its message is a ResultMessage
        final_steps: list[dict[str, Any]] = []
        stopped_by: str | None = None
        protocol_error: str | None = None
        partial = PartialRecording(job)  # kept when the run ends without its result

        def handle(line: bytes) -> None:
            nonlocal result, final_steps, stopped_by
            if result is not None:
                return  # nothing counts after the result (a forked child may write more)
            checked = parse_message(line, job)  # ProtocolViolation: see below
            if isinstance(checked.message, StepsMessage):
                on_steps(checked.steps)
            elif isinstance(checked.message, LimitMessage):
                stopped_by = stopped_by or OUTPUT
            elif isinstance(checked.message, WorldMessage):
                assert checked.world is not None
                partial.add(checked.world)
            else:
                result = checked
                final_steps = checked.steps
                if final_steps and not keep_final_steps:
                    on_steps(final_steps)
                    final_steps = []

        while True:
            now = time.monotonic()
            if stopped_by is not None:
                pass
            elif cancel is not None and cancel.is_set():
                stopped_by = CANCELLED
            elif now >= deadline:
                stopped_by = TIMED_OUT
            elif watch_disk and now >= next_disk_check:
                assert lease is not None
                next_disk_check = now + DISK_CHECK_S
                used, _entries = lease.disk_usage()
                if used > lease.disk_limit:
                    stopped_by = DISK
            if stopped_by is not None:
                self._stop(process, lease)
                _drain(message_fd, buffer, handle)
                break
            readable, _, _ = select.select([message_fd], [], [], min(0.1, deadline - now))
            if not readable:
                continue
            chunk = os.read(message_fd, 1 << 16)
            if not chunk:
                break
            received += len(chunk)
            if received > MAX_MESSAGES:
                stopped_by = OUTPUT
                continue
            buffer.extend(chunk)
            try:
                _split_lines(buffer, handle)
            except ProtocolViolation as error:  # stop trusting it at once
                protocol_error = str(error)
                self._stop(process, lease)
                break
            if result is not None:
                break  # nothing follows the result; a leftover child may hold the pipe open
        if result is not None and stopped_by is None and protocol_error is None:
            process.wait(0)  # reap promptly when the launcher allows it
            report = result.message
            assert isinstance(report, ResultMessage)
            world = result.world
            if world is not None and world.get("recording") is not None and partial.recording:
                try:  # its world messages came first: the result's recording is the rest
                    partial.add(world["recording"])
                    world = partial.document(complete=True)
                except ProtocolViolation as error:
                    protocol_error = str(error)
            if protocol_error is None:
                return Outcome(
                    status=report.status,
                    output=result.output,
                    error=result.error,
                    stdout=report.stdout,
                    stdout_truncated=report.stdout_truncated,
                    steps=final_steps,
                    world=world,
                )
        if final_steps:  # the worker's report is not the outcome: keep its steps anyway
            on_steps(final_steps)
        ended = self._ended(job, process, lease, stopped_by, protocol_error)
        if protocol_error is None:  # what it recorded until it stopped, as its partial tree
            return dataclasses.replace(ended, world=partial.document())
        return ended

    def _ended(
        self,
        job: Job,
        process: WorkerProcess,
        lease: Lease | None,
        stopped_by: str | None,
        protocol_error: str | None,
    ) -> Outcome:
        """The outcome of a run that did not end with its own report."""
        returncode = process.wait(KILL_GRACE_S)
        if returncode is None:
            self._stop(process, lease)
            returncode = process.wait(KILL_GRACE_S)
        if stopped_by == OUTPUT:
            message = (
                f"the execution printed or sent more than its output limit "
                f"({OUTPUT_LIMIT // MIB} MiB printed, {MAX_MESSAGES // MIB} MiB in all) and "
                "was stopped"
            )
            return Outcome(CRASHED, error=_error("OutputLimitExceeded", message))
        if stopped_by == DISK:
            assert lease is not None
            message = (
                f"the execution's files took more than its disk limit of "
                f"{lease.policy.disk_mb} MiB and it was stopped"
            )
            return Outcome(CRASHED, error=_error("DiskLimitExceeded", message))
        if stopped_by == TIMED_OUT:
            message = (
                f"the execution exceeded its time limit of {job.timeout_s:g} s and was stopped"
            )
            return Outcome(TIMED_OUT, error=_error("TimeoutError", message))
        if stopped_by == CANCELLED:
            return Outcome(CANCELLED, error=_error("Cancelled", "the execution was cancelled"))
        if protocol_error is not None:
            message = f"worker protocol violation: {protocol_error}"
            return Outcome(CRASHED, error=_error("WorkerProtocolError", message))
        if lease is not None and lease.memory_killed():
            message = (
                f"the execution used more than its memory limit of {job.memory_mb} MB (all its "
                "processes together) and was killed"
            )
            return Outcome(CRASHED, error=_error("MemoryLimitExceeded", message))
        return Outcome(CRASHED, error=_crash_error(returncode, job))

    def _stop(self, process: WorkerProcess, lease: Lease | None) -> None:
        """Kill the worker's process group and, sandboxed, every process of its slot uid
        (what left the group with ``setsid()`` too)."""
        process.kill()
        if lease is not None:
            lease.stopped = True
            self.launcher.kill_user(lease.uid)


def _split_lines(buffer: bytearray, handle: Callable[[bytes], None]) -> None:
    while True:
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_LINE:
                raise ProtocolViolation(f"a message is larger than {MAX_LINE} bytes")
            return
        line = bytes(buffer[:end])
        del buffer[: end + 1]
        if line:
            handle(line)


def _drain(fd: int, buffer: bytearray, handle: Callable[[bytes], None]) -> None:
    """Keep what the worker sent before it was killed (partial trees are kept)."""
    deadline = time.monotonic() + KILL_GRACE_S
    while time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 0.1)
        if not readable:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        buffer.extend(chunk)
    with contextlib.suppress(ProtocolViolation):  # what it sent until then is kept
        _split_lines(buffer, handle)


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "traceback": [], "step_id": None}


def _crash_error(returncode: int | None, job: Job) -> dict[str, Any]:
    if returncode is None:
        return _error("WorkerCrashed", "the worker process did not report and could not be reaped")
    if returncode < 0:
        signum = -returncode
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        if signum == signal.SIGXCPU:
            return _error(
                "CPUTimeExceeded", f"the execution used more than its CPU time limit ({name})"
            )
        hint = {
            "SIGSEGV": "a segmentation fault in native code",
            "SIGKILL": f"killed from outside, possibly for memory (limit {job.memory_mb} MB)",
            "SIGABRT": "the interpreter aborted",
            "SIGSYS": "a system call the sandbox forbids outright (another ABI's)",
        }.get(name, "killed by a signal")
        return _error("WorkerCrashed", f"the worker process died with {name}: {hint}")
    return _error(
        "WorkerCrashed",
        f"the worker process exited with code {returncode} without reporting a result",
    )
