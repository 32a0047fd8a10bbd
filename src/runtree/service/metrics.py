"""The server's Prometheus metrics (``GET /metrics``), in one registry per server.

Counters and the duration histogram are updated where things happen: the execution runner
tells :class:`Metrics` (a :class:`~runtree.execution.runner.RunObserver`) of each start, each
batch of steps stored and each end; the webhook endpoint of each delivery's outcome; retention
passes (a :class:`~runtree.service.retention.PruneObserver`) of what they deleted. Queue
depth and worker slots are read at scrape time (one indexed count; the dispatcher's own
list), so nothing on the execution path keeps them up to date.

Each :class:`Metrics` owns its :class:`~prometheus_client.CollectorRegistry` (not the
process-wide default), so several servers in one process (tests) never share a series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..execution.dispatcher import Dispatcher
from ..models import ExecutionRecord
from ..store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds; executions range from milliseconds to the 24-hour timeout.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400)
DELIVERY_OUTCOMES = ("accepted", "duplicate", "rejected", "invalid")
# Why an execution's trace was not delivered (runtree.service.otel_export.DROP_REASONS).
TRACE_DROP_REASONS = ("backlog_full", "export_failed", "read_failed", "shutdown")


class Metrics:
    """The metrics of one server. Thread-safe (prometheus-client's own locks)."""

    def __init__(self, store: Store, dispatcher: Dispatcher | None = None) -> None:
        self.registry = CollectorRegistry()
        self.dispatcher = dispatcher  # set once the server has built it
        self.executions_started = Counter(
            "runtree_executions_started",
            "Executions a worker slot began running.",
            ("function", "namespace"),
            registry=self.registry,
        )
        self.executions_ended = Counter(
            "runtree_executions_ended",
            "Executions that ended, by final status.",
            ("function", "namespace", "status"),
            registry=self.registry,
        )
        self.execution_duration = Histogram(
            "runtree_execution_duration_seconds",
            "From start to end of each execution that ended.",
            ("function", "namespace"),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.steps_written = Counter(
            "runtree_steps_written",
            "Steps stored by the executions this server ran.",
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "runtree_webhook_deliveries",
            "Requests to /hooks/{path} of an existing webhook, by outcome "
            f"({', '.join(DELIVERY_OUTCOMES)}).",
            ("outcome",),
            registry=self.registry,
        )
        self.traces_exported = Counter(
            "runtree_otlp_traces_exported",
            "Executions sent whole to the OpenTelemetry collector (RUNTREE_OTLP_ENDPOINT).",
            registry=self.registry,
        )
        self.traces_dropped = Counter(
            "runtree_otlp_traces_dropped",
            "Executions whose trace was not delivered whole, by reason "
            f"({', '.join(TRACE_DROP_REASONS)}).",
            ("reason",),
            registry=self.registry,
        )
        for reason in TRACE_DROP_REASONS:  # every reason present from the start, at 0
            self.traces_dropped.labels(reason)
        # Set by the server when it exports traces: its backlog is read at scrape time.
        self.trace_backlog: Callable[[], int] | None = None
        self.pruned_executions = Counter(
            "runtree_executions_pruned",
            "Executions deleted by retention (with their steps), by function.",
            ("function", "namespace"),
            registry=self.registry,
        )
        self.pruned_rows = Counter(
            "runtree_retention_pruned",
            "Webhook deliveries and audit entries deleted by retention, by kind.",
            ("kind",),
            registry=self.registry,
        )
        self.registry.register(_ScrapeTimeGauges(store, self))

    # RunObserver: called by the execution runner's threads.
    def started(self, execution: ExecutionRecord) -> None:
        self.executions_started.labels(execution.name, execution.namespace).inc()

    def steps_saved(self, count: int) -> None:
        self.steps_written.inc(count)

    def finished(self, execution: ExecutionRecord) -> None:
        labels = (execution.name, execution.namespace)
        self.executions_ended.labels(*labels, str(execution.status)).inc()
        if execution.started_at is not None and execution.finished_at is not None:
            seconds = (execution.finished_at - execution.started_at).total_seconds()
            self.execution_duration.labels(*labels).observe(max(seconds, 0.0))

    def delivery(self, outcome: str) -> None:
        """Count one webhook delivery; ``outcome`` is one of :data:`DELIVERY_OUTCOMES`."""
        self.webhook_deliveries.labels(outcome).inc()

    # ExportCounters: called by the OpenTelemetry export thread.
    def trace_exported(self) -> None:
        self.traces_exported.inc()

    def trace_dropped(self, reason: str) -> None:
        self.traces_dropped.labels(reason).inc()

    # PruneObserver: called by retention passes (runtree.service.retention).
    def executions_pruned(self, namespace: str, name: str, count: int) -> None:
        self.pruned_executions.labels(name, namespace).inc(count)

    def deliveries_pruned(self, count: int) -> None:
        self.pruned_rows.labels("deliveries").inc(count)

    def audit_entries_pruned(self, count: int) -> None:
        self.pruned_rows.labels("audit").inc(count)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class _ScrapeTimeGauges(Collector):
    """Queue depth and worker slots, read when scraped."""

    def __init__(self, store: Store, metrics: Metrics) -> None:
        self._store = store
        self._metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return []  # no store read at registration

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "runtree_executions_queued",
            "Executions waiting for a worker slot (all processes on this database).",
            value=self._store.count_queued(),
        )
        # Slots of this process's dispatcher (a LocalDispatcher's; another kind has none here).
        dispatcher = self._metrics.dispatcher
        total = getattr(dispatcher, "slots", None)
        running = getattr(dispatcher, "running", None)
        if isinstance(total, int) and isinstance(running, list):
            slots = GaugeMetricFamily(
                "runtree_worker_slots", "This server's worker slots, by state.", labels=["state"]
            )
            slots.add_metric(["busy"], len(running))
            slots.add_metric(["free"], max(total - len(running), 0))
            yield slots
        backlog = self._metrics.trace_backlog
        if backlog is not None:
            yield GaugeMetricFamily(
                "runtree_otlp_backlog",
                "Finished executions waiting to be sent to the OpenTelemetry collector.",
                value=backlog(),
            )
