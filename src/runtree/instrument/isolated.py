"""A deploy's checks -- parse, signature, instrumentation, analysis -- in a process of its own.

Parsing and instrumenting hostile source can cost the CPU of a whole request many times over
(a 292 KiB f-string with 100,000 fields takes seconds just to parse, and the GIL is held all
along). So a deploy's source is checked by :func:`check_source` in a separate, long-lived
worker process (``python -I -m runtree.instrument.isolated``) under limits:

* at most :data:`MAX_AST_NODES` syntax-tree nodes
  (:class:`~runtree.errors.SourceTooComplex`);
* at most :data:`CPU_LIMIT_S` seconds of CPU per check, enforced by the kernel
  (``RLIMIT_CPU``), and :data:`MEMORY_LIMIT_BYTES` of address space
  (:class:`~runtree.errors.SourceCheckFailed` when the worker is stopped by either, or does
  not answer within :data:`WALL_LIMIT_S`);
* a low priority (nice :data:`NICE`), so the server's own threads come first.

The worker compiles but never runs the source. It answers in JSON (nothing it sends is
unpickled). :class:`SourceChecker` starts it when first needed, restarts it after it died,
and runs one check at a time; callers wait in their own thread, never on the event loop.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import json
import os
import resource
import signal
import subprocess
import sys
import threading
from typing import IO, Any

from ..errors import InstrumentError, SourceCheckFailed, SourceTooComplex

MAX_AST_NODES = 200_000
CPU_LIMIT_S = 20
WALL_LIMIT_S = 4 * CPU_LIMIT_S  # the worker is niced: a busy machine may slow it down
MEMORY_LIMIT_BYTES = 2 * 1024**3
NICE = 10


@dataclasses.dataclass(frozen=True, slots=True)
class SourceCheck:
    """What a deploy needs to know about checked source: the entry point's signature (as
    :meth:`~runtree.instrument.signature.EntrySignature.to_dict`), pyflakes warnings
    (``lineno``, ``col``, ``message``, ``kind``), top-level functions and free names."""

    signature: dict[str, Any]
    warnings: list[dict[str, Any]]
    functions: list[str]
    free_names: list[str]


def check_source(source: str, filename: str, name: str) -> SourceCheck:
    """Parse ``source`` (at most :data:`MAX_AST_NODES` nodes), find the entry point ``name``,
    instrument and compile it, and analyze it -- in this process. Raises
    :class:`~runtree.errors.InstrumentError` and :class:`~runtree.errors.SourceTooComplex`."""
    from . import analyze, instrument, parse
    from .signature import entry_signature

    tree = parse(source, filename)
    for nodes, _node in enumerate(ast.walk(tree), 1):
        if nodes > MAX_AST_NODES:
            raise SourceTooComplex(nodes, MAX_AST_NODES)
    signature = entry_signature(tree, name, source)
    instrument(source, filename)  # compiles: errors the parser lets through surface here
    analysis = analyze(source, filename)
    return SourceCheck(
        signature=signature.to_dict(),
        warnings=[
            {"lineno": w.lineno, "col": w.col, "message": w.message, "kind": w.kind}
            for w in analysis.warnings
        ],
        functions=list(analysis.functions),
        free_names=list(analysis.free_names),
    )


class SourceChecker:
    """Runs :func:`check_source` in the worker process, one check at a time, each within
    ``cpu_limit_s`` seconds of CPU and ``wall_limit_s`` seconds."""

    def __init__(self, cpu_limit_s: int = CPU_LIMIT_S, wall_limit_s: float = WALL_LIMIT_S) -> None:
        self.cpu_limit_s = cpu_limit_s
        self.wall_limit_s = wall_limit_s
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def check(self, source: str, filename: str, name: str) -> SourceCheck:
        """:func:`check_source` in the worker; also raises
        :class:`~runtree.errors.SourceCheckFailed`."""
        # ASCII JSON: lone surrogates in the source travel escaped, and fail in the parser.
        request = json.dumps(
            {"source": source, "filename": filename, "name": name, "cpu_s": self.cpu_limit_s}
        )
        with self._lock:
            process = self._ensure_started()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(request.encode("ascii") + b"\n")
                process.stdin.flush()
                line = _read_line(process.stdout, self.wall_limit_s)
            except OSError:
                line = b""
            if not line:
                return self._failed(process, timed_out=line is None)
        return _answer(json.loads(line), self.cpu_limit_s)

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            _stop(process)

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self._process

    def _failed(self, process: subprocess.Popen[bytes], timed_out: bool) -> SourceCheck:
        """The worker died (or, ``timed_out``, did not answer in time): stop it for good
        and say why."""
        self._process = None
        if timed_out:
            _stop(process)
            reason = f"it took longer than {self.wall_limit_s:g} s"
            raise _check_failed(reason, self.cpu_limit_s)
        returncode = _stop(process, grace=1.0)
        if returncode is None:
            reason = "it stopped answering"
        elif returncode in (-signal.SIGXCPU, -signal.SIGKILL):
            reason = "it used more CPU time than allowed"
        else:
            reason = "it ran out of memory or failed"
        raise _check_failed(reason, self.cpu_limit_s)


def _read_line(stream: IO[bytes], timeout: float) -> bytes | None:
    """One line from ``stream`` (``b""`` at its end), or ``None`` if none came within
    ``timeout`` seconds."""
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else None


def _stop(process: subprocess.Popen[bytes], grace: float = 0.0) -> int | None:
    """Kill ``process`` unless it ends within ``grace`` seconds; its return code if it
    ended by itself (``None``: it had to be killed)."""
    try:
        returncode: int | None = process.wait(grace)
    except subprocess.TimeoutExpired:
        returncode = None
    if returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    process.wait()
    return returncode


def _check_failed(reason: str, cpu_limit_s: int) -> SourceCheckFailed:
    return SourceCheckFailed(reason, cpu_limit_s, MEMORY_LIMIT_BYTES // 1024**3)


def _answer(reply: dict[str, Any], cpu_limit_s: int) -> SourceCheck:
    if "check" in reply:
        return SourceCheck(**reply["check"])
    error = reply["error"]
    if error["kind"] == "instrument":
        raise InstrumentError(error["msg"], error["lineno"], error["col"])
    if error["kind"] == "too_complex":
        raise SourceTooComplex(error["nodes"], error["limit"])
    raise _check_failed(f"it failed ({error.get('message', 'unknown error')})", cpu_limit_s)


_default: SourceChecker | None = None
_default_lock = threading.Lock()


def default_checker() -> SourceChecker:
    """This process's checker (its worker is started on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SourceChecker()
        return _default


def _limit_cpu(seconds: int) -> None:
    """Let this process use ``seconds`` more CPU seconds from now (SIGXCPU past them)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def main() -> None:
    """The worker: one JSON request a line on stdin, one JSON answer a line on stdout."""
    with contextlib.suppress(OSError):
        os.nice(NICE)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for line in sys.stdin.buffer:
        request = json.loads(line)
        _limit_cpu(int(request["cpu_s"]))
        try:
            found = check_source(request["source"], request["filename"], request["name"])
            reply: dict[str, Any] = {"check": dataclasses.asdict(found)}
        except InstrumentError as error:
            reply = {
                "error": {
                    "kind": "instrument",
                    "msg": error.msg,
                    "lineno": error.lineno,
                    "col": error.col,
                }
            }
        except SourceTooComplex as error:
            reply = {"error": {"kind": "too_complex", "nodes": error.nodes, "limit": error.limit}}
        except Exception as error:  # MemoryError, RecursionError ...: this check failed
            reply = {"error": {"kind": "failed", "message": type(error).__name__}}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
