"""The code that runs inside an execution's own process.

A worker process receives one :class:`Job` (as JSON on a pipe, or already parsed and
compiled by the zygote it was forked from), loads the job's function modules (instrumented
unless tracking is off), links each module's free names to the other functions of the
namespace, calls the entry point inside :func:`runtree.record`, and streams what happens to
the supervisor as JSON lines on another pipe:

``{"type": "steps", "steps": [...]}``  batches, while the code runs (running steps are sent
again when they finish); ``{"type": "result", ..., "steps": [...]}`` once, at the end, with
the last batch of steps (at most :data:`BATCH_SIZE`; any before it come as ``steps`` messages
just before the result).

Everything sent is JSON, checked by the supervisor against :mod:`.protocol` (the server never
unpickles anything). Serialized values travel as base64 strings in their ``blob`` field and
stay opaque bytes outside this process.

Start it with ``python -m runtree.execution.worker JOB_FD MESSAGE_FD`` (:func:`serve_job`) or
fork into :func:`run_job` (see :mod:`.zygote`).
"""

from __future__ import annotations

import _thread
import base64
import builtins
import inspect
import io
import json
import os
import resource
import sys
import threading
import traceback
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import SandboxError
from ..instrument.compiler import instrument, register_source
from ..tracking import Recording, record
from ..tracking.capture import realize_value
from ..tracking.raw_state import register_module
from .job import FunctionSource, Job
from .sandbox.confine import confine
from .sandbox.policy import Policy
from .world import Session as WorldSession
from .world import prepare as prepare_world
from .world import release as release_world

FLUSH_INTERVAL_S = 0.05
BATCH_SIZE = 200  # steps per message
STDOUT_LIMIT = 1024 * 1024  # printed text kept
OUTPUT_LIMIT = 16 * 1024 * 1024  # printed text in all: past it the execution is stopped
EXIT_OK = 0
EXIT_SANDBOX = 71  # the sandbox could not be applied: no user code ran
EXIT_OUTPUT_LIMIT = 72


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

    def close(self) -> None:
        with self._lock:
            os.close(self._fd)


def _json_default(value: Any) -> Any:
    # The only bytes sent are captured values' blobs: a base64 string in their "blob" field,
    # the one field the supervisor decodes (a user's value can never be mistaken for one).
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return repr(value)


class _CappedText(io.TextIOBase):
    """The process's stdout/stderr: kept in memory up to a limit, the rest counted; past
    ``stop_at`` characters in all, ``on_flood`` is called (it ends the process)."""

    def __init__(
        self,
        limit: int,
        stop_at: int | None = None,
        on_flood: Callable[[int], None] | None = None,
    ) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0
        self.limit = limit
        self.stop_at = stop_at
        self.on_flood = on_flood

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = self.limit - self.size
        if room > 0:
            kept = text[:room]
            self.parts.append(kept)
            self.size += len(kept)
        self.dropped += max(0, len(text) - max(room, 0))
        if (
            self.on_flood is not None
            and self.stop_at is not None
            and self.size + self.dropped > self.stop_at
        ):
            self.on_flood(self.size + self.dropped)
        return len(text)

    def value(self) -> str:
        return "".join(self.parts)


class _StepStreamer:
    """Sends new steps, and steps that finished since they were sent, every interval, from a
    thread of its own; :meth:`finish` stops it and returns what is left to send."""

    def __init__(
        self,
        rec: Recording,
        channel: _Channel,
        function_of: dict[str, str],
        world: WorldSession | None = None,
    ) -> None:
        self.rec = rec
        self.channel = channel
        self.function_of = function_of
        self.world = world  # recording: its progress is streamed too (partial recordings)
        self.sent = 0
        self.open: list[Any] = []
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.finished = False

    def start(self) -> None:
        # A bare thread: threading.Thread.start() waits until the new thread runs, which is a
        # measurable part of a short execution; nothing here needs to wait for it.
        _thread.start_new_thread(self._run, ())

    def _run(self) -> None:
        try:
            while not self.stop_event.wait(FLUSH_INTERVAL_S):
                self.flush()
        except BaseException:
            pass  # a broken channel: the main thread notices it when it reports

    def flush(self) -> None:
        with self.lock:
            if self.finished:
                return
            payload = self._collect()
            for start in range(0, len(payload), BATCH_SIZE):
                self.channel.send({"type": "steps", "steps": payload[start : start + BATCH_SIZE]})
            part = None if self.world is None else self.world.progress()
            if part is not None:
                self.channel.send({"type": "world", "recording": part})

    def finish(self) -> list[dict[str, Any]]:
        """Stop streaming (after a batch being sent, if any); the steps not sent yet."""
        self.stop_event.set()
        with self.lock:
            self.finished = True
            return self._collect()

    def _collect(self) -> list[dict[str, Any]]:
        """New steps and steps that finished since they were sent (holding the lock)."""
        steps = self.rec.steps
        batch = [s for s in self.open if s.status != "running"]
        still_open = [s for s in self.open if s.status == "running"]
        new = steps[self.sent : len(steps)]
        self.sent += len(new)
        batch.extend(new)
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
        return payload


def apply_limits(job: Job) -> None:
    """Resource limits of this process (the sandbox adds more; see :mod:`.sandbox`)."""
    memory = job.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(job.timeout_s) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def compile_function(spec: FunctionSource, filename: str) -> types.CodeType:
    """The code of one function module: instrumented unless its tracking is off. Raises
    :class:`~runtree.errors.InstrumentError` for code that cannot be compiled."""
    if spec.tracking:
        return instrument(spec.source, filename, version=spec.version)
    return compile(spec.source, filename, "exec", dont_inherit=True)


def load_functions(
    job: Job, compiled: Mapping[str, types.CodeType] | None = None
) -> dict[str, dict[str, Any]]:
    """Execute each function's module; give each the others' entry points by bare name.

    ``compiled`` may hold already compiled modules by function name (from
    :func:`compile_function` with the same source, file name, version and tracking)."""
    modules: dict[str, dict[str, Any]] = {}
    for name, spec in job.functions.items():
        filename = job.filename_of(name)
        code = compiled.get(name) if compiled is not None else None
        if code is None:
            code = compile_function(spec, filename)
        # Also for compiled code: the process may have shown another version under this name.
        register_source(spec.source, filename)
        namespace: dict[str, Any] = {"__name__": name, "__builtins__": builtins}
        modules[name] = namespace
        # Its classes and functions are captured by reference to this namespace (it is not
        # put in sys.modules: an upload named like a library must not shadow it).
        register_module(name, namespace)
        exec(code, namespace)
    for name, namespace in modules.items():
        for other in job.functions:
            if other != name and other not in namespace and other in modules:
                namespace[other] = modules[other].get(other)
    return modules


def call_entry(entry: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    """Call the entry point; an ``async def`` one (a call that returns a coroutine) is run to
    completion on an event loop of its own, so its steps and its result are the execution's.

    The loop is new for every execution and closed after it (``asyncio.run``): what the
    coroutine leaves pending is cancelled, as in any ``asyncio.run`` program. Time limits and
    cancellation end the whole process, whatever the loop is doing."""
    value = entry(*args, **kwargs)
    if inspect.iscoroutine(value):
        import asyncio  # preloaded by the zygote: a sync run does not pay for it

        return asyncio.run(value)
    return value


def serve_job(job_fd: int, message_fd: int) -> int:
    """Run the job read from ``job_fd``; report on ``message_fd``. Returns the exit code."""
    with os.fdopen(job_fd, "rb") as job_file:
        job = Job.from_json(job_file.read())
    return run_job(job, message_fd)


def run_job(
    job: Job,
    message_fd: int,
    compiled: Mapping[str, types.CodeType]
    | Callable[[], Mapping[str, types.CodeType]]
    | None = None,
) -> int:
    """Run ``job`` in this process (its limits, or with ``job.sandbox`` the whole sandbox,
    applied to it first); report on ``message_fd``. ``compiled``: see
    :func:`load_functions`, or a callable returning it (called once confined). Returns the
    exit code."""
    channel = _Channel(message_fd)
    if job.records_http and (job.network or job.replays):
        prepare_world()  # a cold worker (a zygote's child has it already): before confining
    if job.sandbox is not None:
        preload()  # a cold worker: what a run imports lazily, while it can still read it
        try:
            confine(Policy.from_dict(job.sandbox))
        except SandboxError as error:
            channel.send(_sandbox_failure(error))
            channel.close()
            return EXIT_SANDBOX
    else:
        apply_limits(job)
    codes = compiled() if callable(compiled) else compiled

    def flood(written: int) -> None:
        # Printing past the limit ends the run; the supervisor says why.
        channel.send({"type": "limit", "limit": "output", "written": written})
        os._exit(EXIT_OUTPUT_LIMIT)

    captured_out = _CappedText(STDOUT_LIMIT, OUTPUT_LIMIT, flood)
    sys.stdout = sys.stderr = captured_out
    function_of = {job.filename_of(n): f"{job.namespace}/{n}" for n in job.functions}
    rec = record(step_budget=job.step_budget, value_budget=job.value_budget)
    if job.world is None:
        release_world()  # a recording zygote's child: the real clock functions, os.urandom
    world = None if job.world is None else WorldSession.for_run(job.world, function_of)
    streamer = _StepStreamer(rec, channel, function_of, world)
    result: dict[str, Any]
    try:
        if world is not None:  # before the modules load: they may bind time or datetime
            world.start()
        modules = load_functions(job, codes)
        entry = modules[job.entry].get(job.entry)
        if not callable(entry):
            raise TypeError(f"{job.entry!r} is not a callable defined in {job.entry}.py")
        streamer.start()
        with rec:
            value = call_entry(entry, job.args, job.kwargs)
        captured = realize_value(value, rec.policy.value_budget, rec.policy)
        result = {"status": "succeeded", "output": captured.to_dict(include_blob=True)}
    except BaseException as error:  # everything the user's code can raise, SystemExit too
        rec.close()
        result = {"status": "failed", "error": _error_of(error, rec)}
    steps = streamer.finish()  # before the world stops: no progress is sent after it
    if world is not None:
        result["world"] = world.stop()
    last = (len(steps) - 1) // BATCH_SIZE * BATCH_SIZE if steps else 0
    for start in range(0, last, BATCH_SIZE):
        channel.send({"type": "steps", "steps": steps[start : start + BATCH_SIZE]})
    result["type"] = "result"
    result["stdout"] = captured_out.value()
    result["stdout_truncated"] = captured_out.dropped > 0
    result["steps"] = steps[last:]
    channel.send(result)
    # Nothing follows the result: closing now lets the supervisor go on without waiting for
    # this process to exit (its launcher reaps it).
    channel.close()
    return EXIT_OK


def preload() -> None:
    """Import the modules of runtree a run imports lazily. A confined process may not be
    able to read runtree's files (they can be under a 0700 directory), so the zygote, and a
    cold worker before it confines itself, import them first."""
    import asyncio  # noqa: F401  (async entry points)
    import pickle  # noqa: F401

    from ..tracking import io_steps, output, recording, render, runtime, threads  # noqa: F401


def _sandbox_failure(error: SandboxError) -> dict[str, Any]:
    return {
        "type": "result",
        "status": "crashed",
        "error": {
            "type": "SandboxError",
            "message": f"the sandbox could not be applied, so nothing ran: {error}",
            "traceback": [],
            "step_id": None,
        },
        "stdout": "",
        "stdout_truncated": False,
        "steps": [],
    }


# Not a valid namespace for users (names must not start with two underscores): no clash.
_WARM_UP_NAMESPACE = "__runtree_warm_up__"
_WARM_UP_SOURCE = """\
def helper(x):
    return x  # runtree warm-up
def warm(a, b):
    print("warm", a)
    return {"sum": a + helper(b[0]), "items": [a, *b]}
"""


def warm_up(compiled: Mapping[str, types.CodeType] | None = None) -> dict[str, types.CodeType]:
    """Run a tiny job the way :func:`run_job` does, minus the process setup and the channel,
    so that what a run imports, caches and touches is ready before it starts. Returns the tiny
    job's code (pass it back to skip compiling it again)."""
    job = Job("warm-up", _WARM_UP_NAMESPACE, "warm", {"warm": FunctionSource(_WARM_UP_SOURCE, 0)})
    filename = job.filename_of("warm")
    rec = record(step_budget=job.step_budget, value_budget=job.value_budget)
    streamer = _StepStreamer(rec, _Channel(-1), {filename: f"{job.namespace}/warm"})
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = _CappedText(1024)
    try:
        code = dict(compiled or {})
        if "warm" not in code:
            code["warm"] = compile_function(job.functions["warm"], filename)
        entry = load_functions(job, code)["warm"]["warm"]
        with rec:
            value = call_entry(entry, (1, [2]), {})
        captured = realize_value(value, rec.policy.value_budget, rec.policy)
        steps = streamer.finish()
        message = {"type": "result", "output": captured.to_dict(include_blob=True), "steps": steps}
        json.dumps(message, default=_json_default, allow_nan=False)
        return code
    finally:
        sys.stdout, sys.stderr = saved


def warm_up_thread() -> None:
    """Start and end one thread as a run's step streamer starts its own, then wait until it
    has ended. A spare does this while it waits for its job: the run's thread then reuses the
    stack glibc keeps from this one, and finds the pages that starting a thread writes to
    already copied from the zygote's, instead of mapping and faulting them in on the
    request path. (Not in the zygote: it must not fork while a thread of its own runs.)"""
    thread = threading.Thread(target=threading.Event().wait, args=(0,))
    thread.start()
    thread.join()


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
