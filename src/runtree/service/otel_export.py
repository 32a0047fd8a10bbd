"""Sending finished executions to an OpenTelemetry collector over OTLP/HTTP, off the
execution path.

:meth:`TraceExporter.submit` is all an execution's end pays: the execution's id goes into a
bounded backlog (a lock and an append). One background thread takes the waiting ids, reads
each execution and its steps from the store, turns them into spans
(:mod:`runtree.service.otel_trace`) and sends them in requests of at most
:data:`SPANS_PER_REQUEST` spans through the OpenTelemetry SDK's OTLP/HTTP exporter, which
retries 429, 502, 503, 504 and connection errors with exponential backoff (1 s, 2 s, 4 s ...
with jitter, honouring ``Retry-After``) until ``timeout_s`` has passed for that request.

A dead or slow collector holds only that thread: executions go on ending at full speed
while the backlog fills; past ``backlog`` waiting executions, each new one is dropped. Every
trace that is not delivered whole is counted in ``runtree_otlp_traces_dropped_total``
with the reason (:data:`DROP_REASONS`).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ..models import ExecutionRecord, Trigger
from ..store import Store
from .otel_trace import default_resource, execution_spans

log = logging.getLogger("runtree.otlp")

# The SDK's batch processor's default request size.
SPANS_PER_REQUEST = 512
# Executions taken from the backlog at a time (their spans still go in requests of
# SPANS_PER_REQUEST).
EXECUTIONS_PER_BATCH = 64
DROP_REASONS = {
    "backlog_full": "the backlog was full when the execution ended",
    "export_failed": "the collector refused a request or could not be reached in time",
    "read_failed": "the execution could not be read back (deleted meanwhile)",
    "shutdown": "still waiting when the server stopped",
}
# A full backlog is logged at most this often (each drop is counted).
_WARN_EVERY_S = 60.0


class ExportCounters(Protocol):
    """Told of each trace delivered or dropped (the server's metrics). Must not raise."""

    def trace_exported(self) -> None: ...

    def trace_dropped(self, reason: str) -> None: ...


class TraceExporter:
    """Exports each execution :meth:`submit` is given as one trace, in the background.

    ``exporter`` defaults to the SDK's :class:`OTLPSpanExporter` for ``endpoint`` (a full
    traces URL) with ``headers`` and ``timeout_s`` (the OTLP exporter reads its other
    options -- compression, certificates -- from the standard ``OTEL_EXPORTER_OTLP_*``
    variables). Start with :meth:`start`; :meth:`close` sends what is waiting for up to
    ``timeout_s`` seconds, then drops the rest.
    """

    def __init__(
        self,
        store: Store,
        *,
        endpoint: str,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        backlog: int = 1000,
        counters: ExportCounters | None = None,
        exporter: SpanExporter | None = None,
        resource: Resource | None = None,
    ) -> None:
        self._store = store
        self._timeout_s = timeout_s
        self._backlog = backlog
        self._counters = counters
        self._exporter = exporter or OTLPSpanExporter(
            endpoint=endpoint, headers=dict(headers or {}), timeout=timeout_s
        )
        self._resource = resource or default_resource()
        self._waiting: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)  # the export thread waits for work
        self._idle = threading.Condition(self._lock)  # flush() waits for the thread
        self._closed = False
        self._busy = False
        self._last_warning = 0.0
        self._thread = threading.Thread(target=self._loop, name="runtree-otlp", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Executions in the backlog (not yet taken by the export thread)."""
        return len(self._waiting)

    # The execution runner's completion callback: called from its worker threads.
    def submit(self, execution: ExecutionRecord) -> None:
        """Queue a finished execution's trace; never blocks, never raises. A full backlog
        (or a closed exporter) drops it, counted. Shadow runs (``runtree deploy --shadow``)
        are not runs of the function and are not exported."""
        if execution.trigger is Trigger.SHADOW:
            return
        with self._lock:
            if self._closed:
                reason = "shutdown"
            elif len(self._waiting) >= self._backlog:
                reason = "backlog_full"
            else:
                self._waiting.append(execution.id)
                self._wakeup.notify()
                return
        self._dropped(reason)
        if reason == "backlog_full":
            now = time.monotonic()
            if now - self._last_warning >= _WARN_EVERY_S:
                self._last_warning = now
                log.warning(
                    "OpenTelemetry export is behind (%d executions waiting): dropping traces "
                    "(counted in runtree_otlp_traces_dropped_total)",
                    self._backlog,
                )

    def flush(self, timeout_s: float) -> bool:
        """Wait until the backlog is empty and nothing is being sent (tests, benchmarks);
        whether that happened within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._waiting or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        """Stop taking executions, send what is waiting for up to ``timeout_s`` seconds, then
        drop what is left (counted) and shut the OTLP exporter down, which abandons its
        retries. Returns within about ``timeout_s`` even when the collector hangs."""
        with self._lock:
            self._closed = True
            self._wakeup.notify_all()
        if self._thread.is_alive():
            self._thread.join(self._timeout_s)
        with self._lock:
            left = len(self._waiting)
            self._waiting.clear()
        for _ in range(left):
            self._dropped("shutdown")
        try:
            self._exporter.shutdown()
        except Exception:
            log.exception("error while shutting the OTLP exporter down")

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._busy = False
                if not self._waiting:
                    self._idle.notify_all()
                while not self._waiting and not self._closed:
                    self._wakeup.wait()
                if not self._waiting:
                    return
                count = min(len(self._waiting), EXECUTIONS_PER_BATCH)
                batch = [self._waiting.popleft() for _ in range(count)]
                self._busy = True
            try:
                self._export(batch)
            except Exception:  # the thread must survive anything
                log.exception("OpenTelemetry export failed")

    def _export(self, execution_ids: Sequence[str]) -> None:
        """Send the executions' traces; count each as exported or dropped."""
        pending: list[ReadableSpan] = []
        owners: dict[int, str] = {}  # trace id -> execution id
        failed: set[str] = set()
        sent: list[str] = []
        for execution_id in execution_ids:
            try:
                execution = self._store.get_execution(execution_id)
                if execution is None:
                    raise LookupError("no such execution")
                steps = self._store.get_steps(execution_id)
                spans = execution_spans(execution, steps, self._resource)
            except Exception:
                log.warning("cannot export execution %s", execution_id, exc_info=True)
                self._dropped("read_failed")
                continue
            sent.append(execution_id)
            owners[_trace_id(spans[0])] = execution_id
            pending.extend(spans)
            while len(pending) >= SPANS_PER_REQUEST:
                self._send(pending[:SPANS_PER_REQUEST], owners, failed)
                del pending[:SPANS_PER_REQUEST]
        if pending:
            self._send(pending, owners, failed)
        for execution_id in sent:
            if execution_id in failed:
                self._dropped("export_failed")
            elif self._counters is not None:
                self._counters.trace_exported()

    def _send(self, spans: list[ReadableSpan], owners: dict[int, str], failed: set[str]) -> None:
        """One request; on failure, every execution with a span in it counts as dropped."""
        try:
            result = self._exporter.export(spans)
        except Exception:
            log.exception("the OTLP exporter failed")
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            failed.update(owners[_trace_id(span)] for span in spans)

    def _dropped(self, reason: str) -> None:
        if self._counters is not None:
            self._counters.trace_dropped(reason)


def _trace_id(span: ReadableSpan) -> int:
    context = span.context
    assert context is not None  # every span of execution_spans() has one
    trace_id: int = context.trace_id
    return trace_id
