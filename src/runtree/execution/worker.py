"""The code that runs inside an execution's own process.

A worker process receives one :class:`Job` as JSON on a pipe, loads the job's function modules
(instrumented unless tracking is off), links each module's free names to the other functions of
the namespace, calls the entry point inside :func:`runtree.record`, and streams what happens to
the supervisor as JSON lines on another pipe:

``{"type": "steps", "steps": [...]}``  batches, while the code runs (running steps are sent
again when they finish); ``{"type": "result", ...}`` once, at the end.

Everything sent is JSON: the supervisor (the server) never unpickles anything. Serialized
values travel base64-encoded and stay opaque bytes outside this process.

Start it with ``python -m runtree.execution.worker JOB_FD MESSAGE_FD`` or fork into
:func:`serve_job` (see :mod:`.zygote`).
"""

from __future__ import annotations

import base64
import builtins
import io
import json
import os
import resource
import sys
import threading
import traceback
from typing import Any

from ..instrument.compiler import instrument, register_source
from ..tracking import Recording, record
from ..tracking.capture import realize_value
from .job import Job

FLUSH_INTERVAL_S = 0.05
STDOUT_LIMIT = 1024 * 1024
EXIT_OK = 0


class _Channel:
    """JSON lines to the supervisor, safe to use from two threads."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, default=_json_default, allow_nan=False) + "\n").encode()
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(value).decode("ascii")}
    return repr(value)


class _CappedText(io.TextIOBase):
    """The process's stdout/stderr: kept in memory up to a limit, the rest counted."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.limit = limit

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = self.limit - self.size
        if room > 0:
            kept = text[:room]
            self.parts.append(kept)
            self.size += len(kept)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def value(self) -> str:
        return "".join(self.parts)


class _StepStreamer(threading.Thread):
    """Sends new steps, and steps that finished since they were sent, every interval."""

    def __init__(self, rec: Recording, channel: _Channel, function_of: dict[str, str]) -> None:
        super().__init__(name="runtree-step-streamer", daemon=True)
        self.rec = rec
        self.channel = channel
        self.function_of = function_of
        self.sent = 0
        self.open: list[Any] = []
        self.stop_event = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop_event.wait(FLUSH_INTERVAL_S):
            self.flush()

    def flush(self) -> None:
        with self.lock:
            steps = self.rec.steps
            batch = [s for s in self.open if s.status != "running"]
            still_open = [s for s in self.open if s.status == "running"]
            new = steps[self.sent : len(steps)]
            self.sent += len(new)
            batch.extend(new)
            if not batch:
                return
            payload = []
            for step in batch:
                status = step.status
                data = step.to_dict(include_blobs=True)
                data["status"] = status  # as observed before serializing
                data["function"] = self.function_of.get(step.filename or "")
                payload.append(data)
                if status == "running":
                    still_open.append(step)
            self.open = still_open
            for start in range(0, len(payload), 200):
                self.channel.send({"type": "steps", "steps": payload[start : start + 200]})

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)
        self.flush()


def apply_limits(job: Job) -> None:
    """Resource limits of this process (the sandbox adds more; see :mod:`.sandbox`)."""
    memory = job.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(job.timeout_s) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def load_functions(job: Job) -> dict[str, dict[str, Any]]:
    """Execute each function's module; give each the others' entry points by bare name."""
    modules: dict[str, dict[str, Any]] = {}
    for name, spec in job.functions.items():
        filename = job.filename_of(name)
        if spec.tracking:
            code = instrument(spec.source, filename, version=spec.version)
        else:
            register_source(spec.source, filename)
            code = compile(spec.source, filename, "exec", dont_inherit=True)
        namespace: dict[str, Any] = {"__name__": name, "__builtins__": builtins}
        modules[name] = namespace
        exec(code, namespace)
    for name, namespace in modules.items():
        for other in job.functions:
            if other != name and other not in namespace and other in modules:
                namespace[other] = modules[other].get(other)
    return modules


def serve_job(job_fd: int, message_fd: int) -> int:
    """Run the job read from ``job_fd``; report on ``message_fd``. Returns the exit code."""
    with os.fdopen(job_fd, "rb") as job_file:
        job = Job.from_json(job_file.read())
    channel = _Channel(message_fd)
    captured_out = _CappedText(STDOUT_LIMIT)
    sys.stdout = sys.stderr = captured_out
    apply_limits(job)
    function_of = {job.filename_of(n): f"{job.namespace}/{n}" for n in job.functions}
    rec = record(step_budget=job.step_budget, value_budget=job.value_budget)
    streamer = _StepStreamer(rec, channel, function_of)
    result: dict[str, Any]
    try:
        modules = load_functions(job)
        entry = modules[job.entry].get(job.entry)
        if not callable(entry):
            raise TypeError(f"{job.entry!r} is not a callable defined in {job.entry}.py")
        streamer.start()
        with rec:
            value = entry(*job.args, **job.kwargs)
        captured = realize_value(value, rec.policy.value_budget, rec.policy)
        result = {"status": "succeeded", "output": captured.to_dict(include_blob=True)}
    except BaseException as error:  # everything the user's code can raise, SystemExit too
        rec.close()
        result = {"status": "failed", "error": _error_of(error, rec)}
    if streamer.is_alive():
        streamer.stop()
    else:
        streamer.flush()
    result["type"] = "result"
    result["stdout"] = captured_out.value()
    result["stdout_truncated"] = captured_out.dropped > 0
    channel.send(result)
    return EXIT_OK


def _error_of(error: BaseException, rec: Recording) -> dict[str, Any]:
    """The execution's error: from its root step when recorded, else from the traceback."""
    for step in rec.steps:
        if step.parent_id is None and step.error is not None:
            data = dict(step.error)
            data["step_id"] = step.id
            return data
    frames = [
        {"filename": f.filename, "lineno": f.lineno, "name": f.name, "line": f.line or ""}
        for f in traceback.extract_tb(error.__traceback__)
        if not f.filename.startswith(_PACKAGE_DIR)
    ]
    return {
        "type": _type_name(type(error)),
        "message": _safe_str(error),
        "traceback": frames,
        "step_id": None,
    }


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _type_name(kind: type) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:
        return f"<unprintable {type(error).__name__}>"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    job_fd, message_fd = int(args[0]), int(args[1])
    code = serve_job(job_fd, message_fd)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
