"""A ``runtree worker`` process: runs executions from the PostgreSQL queue, on any machine
that reaches the database (see :mod:`runtree.execution.queue`)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from ..errors import QueueUnavailable
from ..execution.launcher import ZygoteLauncher
from ..execution.queue import QueueDispatcher
from ..execution.runner import ExecutionRunner, WorldOptions
from ..execution.supervisor import Supervisor
from ..settings import Settings
from ..store import Store
from .executions import recover_after_crash
from .sandbox import probe_sandbox

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
    SQLite database."""
    store = Store(settings.database_url)
    closers: list[Callable[[], None]] = [store.close]
    try:
        if not store.job_queue:
            raise QueueUnavailable(
                "runtree worker needs a PostgreSQL database (postgresql://...): with SQLite, "
                "`runtree serve` runs the executions itself"
            )
        sandbox = probe_sandbox(settings).require()
        sandbox.reserve(slots)
        closers.insert(0, sandbox.close)
        recover_after_crash(store)
        world = WorldOptions.from_environment()  # as `runtree serve` records the world
        launcher = ZygoteLauncher(sandbox, record_http=world.record)
        closers.insert(0, launcher.close)
        runner = ExecutionRunner(store, Supervisor(launcher), world=world)
        dispatcher = QueueDispatcher(
            store,
            runner,
            slots=slots,
            queues=queues,
            kind="worker",
            heartbeat_s=settings.heartbeat_s,
        )
        dispatcher.start()
    except BaseException:
        for close in closers:
            close()
        raise
    return Worker(dispatcher, closers)
