"""A running server's parts: the store, the sandbox, the dispatcher, the scheduler and the
retention loop.

:meth:`Server.start` builds what the caller did not inject and :meth:`Server.close` takes down
exactly what it built, in reverse order. The HTTP API (:mod:`runtree.api.app`) holds one for
the application's lifetime; nothing here knows about HTTP.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from ..execution.dispatcher import Dispatcher, LocalDispatcher
from ..execution.queue import QueueDispatcher
from ..execution.runner import NotifyingRunner, WorldOptions
from ..execution.supervisor import Supervisor
from ..execution.zygote_launcher import ZygoteLauncher
from ..models import ExecutionRecord
from ..settings import Settings
from ..store import Store
from ..store.end_notice import EndNotice
from ..store.master_key import KeySource
from . import access
from .executions import recover_after_crash
from .metrics import Metrics
from .pruner import Pruner
from .sandbox import Sandbox, SandboxReport, probe_sandbox
from .schedules import Scheduler

# The server's own messages keep the logger name they have always had.
log = logging.getLogger("runtree.api")


@dataclasses.dataclass
class Server:
    """The server's shared state for the application's lifetime.

    ``dispatcher`` is the injected one or the :class:`LocalDispatcher` built here.
    """

    settings: Settings
    store: Store
    dispatcher: Dispatcher
    metrics: Metrics
    closers: list[Callable[[], None]] = dataclasses.field(default_factory=list)
    # What the start-up probe found (None with an injected dispatcher: not ours to report).
    sandbox: SandboxReport | None = None
    # Queues a finished execution's trace (settings.otlp_endpoint set), else None.
    export: Callable[[ExecutionRecord], None] | None = None
    # The retention loop (None when settings.retention is off).
    pruner: Pruner | None = None

    def ended_without_running(self, execution: ExecutionRecord) -> None:
        """Tell the server of an execution that ended without a runner: one cancelled while
        queued. It is exported like those the runner finishes (one span, its wait)."""
        if self.export is not None:
            self.export(execution)

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        store: Store | None,
        dispatcher: Dispatcher | None,
        on_finished: Callable[[ExecutionRecord], None],
        on_finished_elsewhere: Callable[[str, EndNotice | None], None] | None = None,
    ) -> Server:
        """Open what was not given (blocking: run it off the event loop).

        Without an injected ``store``, opens ``settings.database_url`` (migrating it).
        Without an injected ``dispatcher``, first recovers from a crash -- running
        executions whose local worker process is gone become ``crashed``, queued ones stay
        queued -- then starts a zygote launcher and a :class:`LocalDispatcher` with
        ``settings.workers`` slots whose runner reports each execution it finishes to
        ``on_finished`` (from its worker threads) and to ``metrics`` (which an injected
        dispatcher's runner should be given as its observer to count executions).
        On PostgreSQL, ``on_finished_elsewhere`` is told the id of every execution that
        another process finished, with its end when the announcement carried it
        (:mod:`runtree.store.end_notice`). Injected objects belong to the caller: they are neither
        started nor stopped here.

        With ``settings.otlp_endpoint``, each execution the local dispatcher finishes is also
        exported as an OpenTelemetry trace, in the background
        (:class:`~runtree.service.otel_export.TraceExporter`, stopped after the dispatcher).

        The store's secret key is checked first (:meth:`~runtree.store.Store.check_secret_key`:
        the first start on a database creates its key file; a missing or wrong key is a
        :class:`~runtree.errors.SecretKeyError`). With ``settings.auth``, the first start on
        a database creates an admin key (see
        :func:`runtree.service.access.bootstrap_admin_key`). With ``settings.scheduler``, a
        :class:`~runtree.service.Scheduler` fires due schedules every
        ``settings.scheduler_interval_s`` seconds until :meth:`close`. With
        ``settings.retention``, a :class:`~runtree.service.pruner.Pruner` prunes what the
        retention policies let go every ``settings.retention_interval_s`` seconds.
        """
        closers: list[Callable[[], None]] = []
        report: list[SandboxReport] = []
        if store is None:
            store = Store(settings.database_url, keys=_key_source(settings))
            closers.append(store.close)
        metrics = Metrics(store, dispatcher)
        export: Callable[[ExecutionRecord], None] | None = None
        try:
            store.check_secret_key()  # a missing or wrong key stops the start, clearly
            if settings.otlp_endpoint is not None:
                export = _exporter(settings, store, metrics, closers)
                on_finished = _also(export, on_finished)
            if settings.auth:
                _bootstrap_admin_key(settings, store)
            if dispatcher is None:
                dispatcher = _local_dispatcher(
                    settings,
                    store,
                    on_finished,
                    closers,
                    report,
                    metrics,
                    export,
                    on_finished_elsewhere,
                )
                metrics.dispatcher = dispatcher
            if settings.scheduler:
                scheduler = Scheduler(store, dispatcher, interval=settings.scheduler_interval_s)
                scheduler.start()
                closers.insert(0, scheduler.stop)
            pruner = None
            if settings.retention:
                pruner = Pruner(
                    store,
                    interval=settings.retention_interval_s,
                    batch_rows=settings.retention_batch_rows,
                    observer=metrics,
                )
                pruner.start()
                closers.insert(0, pruner.stop)
        except BaseException:
            cls._run(closers)
            raise
        return cls(
            settings=settings,
            store=store,
            dispatcher=dispatcher,
            metrics=metrics,
            closers=closers,
            sandbox=report[0] if report else None,
            export=export,
            pruner=pruner,
        )

    def close(self) -> None:
        """Stop the dispatcher built here (running executions get
        ``settings.shutdown_grace_s`` seconds, then are cancelled), close the launcher, then
        the store (if opened here). Each step runs even if an earlier one failed."""
        closers, self.closers = self.closers, []
        self._run(closers)

    @staticmethod
    def _run(closers: list[Callable[[], None]]) -> None:
        for close in closers:
            try:
                close()
            except Exception:
                log.exception("error while shutting down")


def _exporter(
    settings: Settings, store: Store, metrics: Metrics, closers: list[Callable[[], None]]
) -> Callable[[ExecutionRecord], None]:
    """Start the OpenTelemetry exporter (closed before the store, after the dispatcher, so
    the last executions get sent); returns its ``submit``."""
    from .otel_export import TraceExporter  # the SDK is imported only when it is used

    assert settings.otlp_endpoint is not None
    exporter = TraceExporter(
        store,
        endpoint=settings.otlp_endpoint,
        headers=settings.otlp_headers,
        timeout_s=settings.otlp_timeout_s,
        backlog=settings.otlp_backlog,
        counters=metrics,
    )
    exporter.start()
    closers.insert(0, exporter.close)
    metrics.trace_backlog = lambda: exporter.waiting
    log.info("exporting each execution as a trace to %s", settings.otlp_endpoint)
    return exporter.submit


def _also(
    first: Callable[[ExecutionRecord], None], then: Callable[[ExecutionRecord], None]
) -> Callable[[ExecutionRecord], None]:
    def both(execution: ExecutionRecord) -> None:
        first(execution)
        then(execution)

    return both


def _key_source(settings: Settings) -> KeySource:
    return KeySource.for_database(settings.database_url, settings.secret_key_file)


def _bootstrap_admin_key(settings: Settings, store: Store) -> None:
    """On the first start of a server with access control on a database, create an admin key
    and write it to ``settings.admin_key_path`` (``runtree serve`` does this first and prints
    the key; this covers servers started another way, e.g. ``uvicorn --factory``)."""
    path = settings.admin_key_path
    if access.bootstrap_admin_key(store, path) is not None:
        log.warning("created the first admin key; it is in %s (readable by you only)", path)


def _local_dispatcher(
    settings: Settings,
    store: Store,
    on_finished: Callable[[ExecutionRecord], None],
    closers: list[Callable[[], None]],
    report: list[SandboxReport],
    metrics: Metrics,
    export: Callable[[ExecutionRecord], None] | None,
    on_finished_elsewhere: Callable[[str, EndNotice | None], None] | None = None,
) -> Dispatcher:
    """On PostgreSQL (the job queue), a :class:`QueueDispatcher` with ``settings.workers``
    slots taking the ``default`` queue -- with none, it runs nothing and only watches for
    lost workers (``runtree worker`` processes do the work). On SQLite, :class:`LocalDispatcher`.

    Probe the sandbox (refusing to go on without tier 0 unless ``settings.sandbox`` is
    off: :class:`~runtree.errors.SandboxUnavailable`), recover, then start a
    zygote-backed :class:`LocalDispatcher`; its shutdown steps are put first in ``closers``.
    Recovery (:func:`runtree.service.recover_after_crash`) marks ``crashed`` the running
    executions whose local worker process is gone; queued executions stay queued and are run
    by the new dispatcher. With ``export``, the executions marked crashed are exported."""
    if store.job_queue and not settings.workers:
        watcher = QueueDispatcher(
            store,
            None,
            slots=0,
            kind="server",
            heartbeat_s=settings.heartbeat_s,
            on_finished_elsewhere=on_finished_elsewhere,
        )
        watcher.start()
        closers.insert(0, lambda: watcher.stop(0.0))
        return watcher
    if not settings.workers:
        raise ValueError(
            "workers: 0 (no local slots) needs PostgreSQL, where `runtree worker` processes "
            "run the executions; with SQLite the server runs them itself"
        )
    sandbox = probe_sandbox(settings).require()
    _log_sandbox(sandbox)
    report.append(sandbox.report)
    sandbox.reserve(settings.workers)
    closers.insert(0, sandbox.close)
    crashed = recover_after_crash(store)
    if crashed:
        log.warning("recovered after a crash: %d execution(s) marked crashed", len(crashed))
        if export is not None:  # with the partial trees they had stored
            for record in store.get_executions(crashed).values():
                export(record)
    world = WorldOptions.from_environment()
    launcher = ZygoteLauncher(sandbox, record_http=world.record)
    closers.insert(0, launcher.close)
    runner = NotifyingRunner(
        store, Supervisor(launcher), on_finished, observer=metrics, world=world
    )
    dispatcher: LocalDispatcher | QueueDispatcher
    if store.job_queue:
        dispatcher = QueueDispatcher(
            store,
            runner,
            slots=settings.workers,
            kind="server",
            heartbeat_s=settings.heartbeat_s,
            on_finished_elsewhere=on_finished_elsewhere,
        )
    else:
        dispatcher = LocalDispatcher(store, runner, settings.workers)
    dispatcher.start()
    grace = settings.shutdown_grace_s
    closers.insert(0, lambda: dispatcher.stop(grace))
    return dispatcher


def _log_sandbox(sandbox: Sandbox) -> None:
    report = sandbox.report
    if not report.enabled:
        log.warning("%s", report.summary)
        return
    log.info("%s", report.summary)
    for layer in report.layers:
        log.log(
            logging.INFO if layer.active else logging.WARNING,
            "sandbox %s %s: %s",
            layer.name,
            "on" if layer.active else "OFF",
            layer.detail,
        )
