"""The supervisor: runs one job in a worker process and decides how the execution ended.

It writes the job, reads the worker's JSON lines (handing step batches to ``on_steps`` as they
arrive), enforces the wall-clock deadline and cancellation by killing the worker's process
group, and classifies the end: ``succeeded``/``failed`` from the worker's own report,
``timed_out``, ``cancelled``, or ``crashed`` (the process ended without reporting, e.g.
``os._exit``, a segfault or SIGKILL). Nothing read from a worker is ever unpickled.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from .job import Job
from .launcher import Launcher, WorkerProcess

MAX_LINE = 256 * 1024 * 1024  # a worker sending more in one message is treated as crashed
KILL_GRACE_S = 2.0

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


def decode_message(line: bytes) -> dict[str, Any]:
    """Parse one worker message; base64 blobs become ``bytes`` (still never unpickled)."""

    def hook(obj: dict[str, Any]) -> Any:
        if len(obj) == 1 and "__b64__" in obj:
            return base64.b64decode(obj["__b64__"])
        return obj

    message = json.loads(line, object_hook=hook)
    if not isinstance(message, dict):
        raise ValueError("a worker message must be a JSON object")
    return message


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
    ) -> Outcome:
        job_r, job_w = os.pipe()
        message_r, message_w = os.pipe()
        try:
            process = self.launcher.start(job_r, message_w)
        except BaseException:
            for fd in (job_w, message_r):
                os.close(fd)
            raise
        finally:
            os.close(job_r)
            os.close(message_w)
        if on_started is not None:
            on_started(process.pid)
        try:
            _write_all(job_w, job.to_json())
        except BrokenPipeError:
            pass  # the worker died before reading its job: classified below
        finally:
            os.close(job_w)
        try:
            return self._watch(job, process, message_r, on_steps, cancel)
        finally:
            os.close(message_r)

    def _watch(
        self,
        job: Job,
        process: WorkerProcess,
        message_fd: int,
        on_steps: Callable[[list[dict[str, Any]]], None],
        cancel: threading.Event | None,
    ) -> Outcome:
        deadline = time.monotonic() + job.timeout_s
        buffer = bytearray()
        result: dict[str, Any] | None = None
        stopped_by: str | None = None
        protocol_error: str | None = None

        def handle(line: bytes) -> None:
            nonlocal result
            message = decode_message(line)
            if message.get("type") == "steps":
                on_steps(list(message.get("steps", [])))
            elif message.get("type") == "result":
                result = message

        while True:
            now = time.monotonic()
            if cancel is not None and cancel.is_set():
                stopped_by = CANCELLED
            elif now >= deadline:
                stopped_by = TIMED_OUT
            if stopped_by is not None:
                process.kill()
                _drain(message_fd, buffer, handle)
                break
            readable, _, _ = select.select([message_fd], [], [], min(0.1, deadline - now))
            if not readable:
                continue
            chunk = os.read(message_fd, 1 << 16)
            if not chunk:
                break
            buffer.extend(chunk)
            try:
                _split_lines(buffer, handle)
            except ValueError as error:  # garbage or an absurd message: stop trusting it
                protocol_error = str(error)
                process.kill()
                break
        if result is not None and stopped_by is None and protocol_error is None:
            process.wait(0)  # reap promptly when the launcher allows it
            return Outcome(
                status=str(result.get("status", FAILED)),
                output=result.get("output"),
                error=result.get("error"),
                stdout=str(result.get("stdout", "")),
                stdout_truncated=bool(result.get("stdout_truncated", False)),
            )
        returncode = process.wait(KILL_GRACE_S)
        if returncode is None:
            process.kill()
            returncode = process.wait(KILL_GRACE_S)
        if stopped_by == TIMED_OUT:
            message = (
                f"the execution exceeded its time limit of {job.timeout_s:g} s and was stopped"
            )
            return Outcome(TIMED_OUT, error=_error("TimeoutError", message))
        if stopped_by == CANCELLED:
            return Outcome(CANCELLED, error=_error("Cancelled", "the execution was cancelled"))
        if protocol_error is not None:
            return Outcome(
                CRASHED, error=_error("WorkerError", f"bad worker message: {protocol_error}")
            )
        return Outcome(CRASHED, error=_crash_error(returncode, job))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _split_lines(buffer: bytearray, handle: Callable[[bytes], None]) -> None:
    while True:
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_LINE:
                raise ValueError(f"message larger than {MAX_LINE} bytes")
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
    with contextlib.suppress(ValueError):
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
        }.get(name, "killed by a signal")
        return _error("WorkerCrashed", f"the worker process died with {name}: {hint}")
    return _error(
        "WorkerCrashed",
        f"the worker process exited with code {returncode} without reporting a result",
    )
