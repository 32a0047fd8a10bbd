"""A ``runtree worker`` process: runs executions from the PostgreSQL queue, on any machine
that reaches the database (see :mod:`runtree.execution.queue`)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from ..errors import QueueUnavailable
from ..execution.queue import QueueDispatcher
from ..execution.runner import NotifyingRunner, WorldOptions
from ..execution.supervisor import Supervisor
from ..execution.zygote_launcher import ZygoteLauncher
from ..models import ExecutionRecord
from ..settings import Settings
from ..store import Store
from ..store.master_key import KeySource
from .executions import recover_after_crash
from .sandbox import probe_sandbox
from .schedules import Scheduler

log = logging.getLogger("runtree.worker")


@dataclasses.dataclass
class Worker:
    """A started worker; :meth:`stop` takes it down (running executions get ``grace``
    seconds, then go back to the queue)."""

    dispatcher: QueueDispatcher
    closers: list[Callable[[], None]]

    @property
    def worker_id(self) -> str:
        return self.dispatcher.worker_id

    def stop(self, grace: float) -> None:
        self.dispatcher.stop(grace)
        closers, self.closers = self.closers, []
        for close in closers:
            try:
                close()
            except Exception:
                log.exception("error while stopping the worker")


def start_worker(settings: Settings, *, slots: int, queues: Sequence[str]) -> Worker:
    """Open the database (migrating it), probe the sandbox (refusing without tier 0 unless
    it is off), hold ``slots`` slot uids, mark ``crashed`` the executions of dead workers
    of this host, and start taking jobs from ``queues``. Raises :class:`QueueUnavailable` for a
    SQLite database.

    Like ``runtree serve``, a worker reads the database's secret key (``RUNTREE_SECRET_KEY``
    or the key file: checked here, so a worker without it refuses to start instead of failing
    the executions that have secret inputs) and, with ``settings.otlp_endpoint``, exports
    each execution it finishes as an OpenTelemetry trace. With ``settings.scheduler`` (on by
    default) it also fires due schedules, as ``runtree serve`` does."""
    keys = KeySource.for_database(settings.database_url, settings.secret_key_file)
    store = Store(settings.database_url, keys=keys)
    closers: list[Callable[[], None]] = [store.close]
    try:
        if not store.job_queue:
            raise QueueUnavailable(
                "runtree worker needs a PostgreSQL database (postgresql://...): with SQLite, "
                "`runtree serve` runs the executions itself"
            )
        store.check_secret_key()
        sandbox = probe_sandbox(settings).require()
        sandbox.reserve(slots)
        closers.insert(0, sandbox.close)
        export = _exporter(settings, store, closers)
        crashed = recover_after_crash(store)
        if export is not None and crashed:  # with the partial trees they had stored
            for record in store.get_executions(crashed).values():
                export(record)
        world = WorldOptions.from_environment()  # as `runtree serve` records the world
        launcher = ZygoteLauncher(sandbox, record_http=world.record)
        closers.insert(0, launcher.close)
        runner = NotifyingRunner(store, Supervisor(launcher), export or _ignore, world=world)
        dispatcher = QueueDispatcher(
            store,
            runner,
            slots=slots,
            queues=queues,
            kind="worker",
            heartbeat_s=settings.heartbeat_s,
        )
        dispatcher.start()
        closers.insert(0, dispatcher.stop)  # if what follows fails; stop() runs only once
        if settings.scheduler:
            # Fire times are taken at most once, however many processes tick (see
            # Store.fire_schedule): a fleet fires schedules even with every server down.
            scheduler = Scheduler(store, dispatcher, interval=settings.scheduler_interval_s)
            scheduler.start()
            closers.insert(0, scheduler.stop)
    except BaseException:
        for close in closers:
            close()
        raise
    return Worker(dispatcher, closers)


def _ignore(execution: ExecutionRecord) -> None:
    """No one to tell that an execution ended (no trace export)."""


def _exporter(
    settings: Settings, store: Store, closers: list[Callable[[], None]]
) -> Callable[[ExecutionRecord], None] | None:
    """With ``settings.otlp_endpoint``, start an OpenTelemetry exporter (closed after the
    dispatcher, so the last executions get sent) and return its ``submit``."""
    if settings.otlp_endpoint is None:
        return None
    from .otel_export import TraceExporter  # the SDK is imported only when it is used

    exporter = TraceExporter(
        store,
        endpoint=settings.otlp_endpoint,
        headers=settings.otlp_headers,
        timeout_s=settings.otlp_timeout_s,
        backlog=settings.otlp_backlog,
    )
    exporter.start()
    closers.insert(0, exporter.close)
    log.info("exporting each execution as a trace to %s", settings.otlp_endpoint)
    return exporter.submit
