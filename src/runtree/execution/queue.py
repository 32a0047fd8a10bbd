"""The dispatcher on PostgreSQL: executions are Procrastinate jobs, run by workers anywhere.

Every queued execution is a job (:mod:`runtree.store.jobs`, deferred in the transaction that
queues it). A :class:`QueueDispatcher` is one process's share of the work -- ``runtree
worker`` or ``runtree serve`` with local slots: a Procrastinate worker with ``slots``
concurrent jobs taking from ``queues``, each job claiming its execution and running it with
the same :class:`~runtree.execution.runner.ExecutionRunner` as the embedded dispatcher, in
sandbox slot ``0..slots-1``. With no slots (``runtree serve --workers 0``) it runs no job and
only keeps watch (below).

Procrastinate brings what a fleet needs: jobs are fetched with ``FOR UPDATE SKIP LOCKED``
(and each job's lock is its execution's id: never two runs at once), new jobs wake idle
workers through LISTEN/NOTIFY, a cancel reaches the worker running the execution the same
way (``abort``), and every worker renews a heartbeat. Every dispatcher, with slots or not,
watches the heartbeats: the jobs of a worker silent for ``stale_s`` seconds are settled
(:meth:`~runtree.store.Store.settle_lost_job`) -- its executions end ``crashed`` ("worker
lost") or, for versions deployed with ``retries``, run again after a backoff. The bound: an
execution of a worker that died ends at most ``stale_s + heartbeat_s`` seconds later (one
heartbeat interval for the next watch), provided some dispatcher is alive.

:meth:`stop` takes no more jobs and gives running executions ``grace`` seconds to finish;
those still running then are stopped and handed back to the queue (they run again from the
start elsewhere). If the database goes away, the Procrastinate worker stops; running
executions go on (their end is written once the database is back) and the worker starts
again, with backoff, until :meth:`stop`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from ..models import ExecutionRecord
from ..store import Store
from ..store.common import utcnow
from ..store.database import disconnected
from ..store.end_notice import EndNotice, parse_notice
from ..store.jobs import DEFAULT_QUEUE, FINISHED_CHANNEL, TASK
from ..store.liveness import check_pooled
from ..store.workers import STALE_HEARTBEATS
from .runner import ExecutionRunner

if TYPE_CHECKING:
    from procrastinate import App, JobContext

log = logging.getLogger("runtree.queue")

HEARTBEAT_S = 5.0
RETRY_BACKOFF_S = 5.0  # first retry of a lost execution; doubles per attempt
RESTART_BACKOFF_S = (0.5, 10.0)  # restarting the Procrastinate worker after a failure
FORGET_LOST_WORKERS_S = 3600.0  # lost workers stay on the Workers page this long


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop of the dispatcher's thread: uvloop's where it is installed (a
    dependency on Linux and macOS; the API server's uvicorn picks it up too), whose hand-offs
    between threads and sockets cost less CPU than asyncio's; else asyncio's (``None``).
    Only runtree's own loops: user code's coroutines keep asyncio's (``worker.py``)."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def conninfo(store: Store) -> str:
    """The libpq connection string of ``store``'s PostgreSQL database (for Procrastinate's
    psycopg connector)."""
    url = store.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _pool(**args: Any) -> Any:
    """Procrastinate's connection pool, checking a connection without its round trip
    (:func:`~runtree.store.liveness.check_pooled` instead of a ping per query)."""
    from psycopg_pool import AsyncConnectionPool

    return AsyncConnectionPool(**{**args, "check": check_pooled})


async def _autocommit(connection: Any) -> None:
    """Every query of Procrastinate's is one statement (a call of one of its SQL functions),
    a transaction of its own: in autocommit, without a BEGIN and a COMMIT round trip each."""
    await connection.set_autocommit(True)


class QueueDispatcher:
    """This process's workers on the Procrastinate queue (see the module docstring).

    ``on_finished_elsewhere``, if given, is called (from this dispatcher's thread) with the
    id of every execution any process ends and its end as announced
    (:mod:`runtree.store.end_notice`; ``None`` when only the id came)."""

    def __init__(
        self,
        store: Store,
        runner: ExecutionRunner | None,
        *,
        slots: int,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        kind: str = "worker",
        heartbeat_s: float = HEARTBEAT_S,
        retry_backoff_s: float = RETRY_BACKOFF_S,
        on_finished_elsewhere: Callable[[str, EndNotice | None], None] | None = None,
    ) -> None:
        if slots and runner is None:
            raise ValueError("a dispatcher with slots needs a runner")
        self.store = store
        self.runner = runner
        self.slots = slots
        self.queues = list(queues) or [DEFAULT_QUEUE]
        self.kind = kind
        self.heartbeat_s = heartbeat_s
        self.stale_s = heartbeat_s * STALE_HEARTBEATS
        self.retry_backoff_s = retry_backoff_s
        self.on_finished_elsewhere = on_finished_elsewhere
        self.worker_id = f"{kind}:{socket.gethostname()}:{os.getpid()}"
        self._lock = threading.Lock()
        self._running: dict[str, tuple[threading.Event, threading.Event]] = {}
        self._free_slots = list(range(slots))[::-1]
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(slots, 1), thread_name_prefix="runtree-slot"
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._worker: Any = None
        self._grace = 0.0
        self.error: BaseException | None = None

    # --- the Dispatcher interface -----------------------------------------------------------

    def start(self) -> None:
        """Register this worker and start taking jobs (returns once connected; raises what
        kept it from starting)."""
        self.store.register_worker(
            self.worker_id,
            kind=self.kind,
            host=socket.gethostname(),
            pid=os.getpid(),
            slots=self.slots,
            queues=self.queues,
        )
        self._thread = threading.Thread(target=self._thread_main, name="runtree-queue", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self.error is not None:
            raise self.error

    def notify(self) -> None:
        """Nothing to do: the job's insert notifies every listening worker at commit."""

    def cancel(self, execution_id: str) -> bool:
        """Stop ``execution_id`` if it runs here; False if it runs elsewhere (the store's
        cancel already asked its worker, through the job queue)."""
        with self._lock:
            events = self._running.get(execution_id)
        if events is None:
            return False
        events[0].set()
        return True

    def stop(self, grace: float = 5.0) -> None:
        """Take no more jobs; running executions get ``grace`` seconds to finish, then are
        stopped and handed back to the queue. Returns when the worker is gone."""
        if self._stopping.is_set():
            return
        self._grace = grace
        self._stopping.set()
        with contextlib.suppress(Exception):
            self.store.heartbeat_worker(self.worker_id, stopping=True)
        loop, task = self._loop, self._main_task
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(grace + 30.0)
        self._executor.shutdown(wait=True)
        with contextlib.suppress(Exception):
            self.store.unregister_worker(self.worker_id)

    @property
    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # --- the event loop ---------------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                runner.run(self._main())
        except BaseException as error:  # reported by start() if it never got going
            if not self._ready.is_set():
                self.error = error
            else:
                log.exception("the queue dispatcher failed")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        from procrastinate import App, PsycopgConnector

        self._loop = asyncio.get_running_loop()
        self._main_task = asyncio.current_task()
        connector = PsycopgConnector(
            conninfo=conninfo(self.store),
            min_size=1,
            max_size=max(2, min(self.slots, 8)),
            configure=_autocommit,
            pool_factory=_pool,
        )
        app = App(connector=connector)
        app.task(name=TASK, pass_context=True)(self._job)
        async with app.open_async():
            await app.job_manager.check_connection_async()
            self._ready.set()
            watch = asyncio.create_task(self._watch(app), name="runtree-watch")
            listen = None
            if self.on_finished_elsewhere is not None:
                listen = asyncio.create_task(
                    connector.listen_notify(
                        on_notification=self._finished_elsewhere, channels=[FINISHED_CHANNEL]
                    ),
                    name="runtree-listen",
                )
            try:
                if self.slots:
                    await self._work(app)
                else:
                    await asyncio.Event().wait()  # until cancelled by stop()
            except asyncio.CancelledError:
                pass
            finally:
                for side in (watch, listen):
                    if side is not None:
                        side.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await side

    async def _finished_elsewhere(self, channel: str, payload: str) -> None:
        callback = self.on_finished_elsewhere
        if callback is not None:
            try:
                callback(*parse_notice(payload))
            except Exception:
                log.exception("the finished-execution callback failed")

    async def _work(self, app: App) -> None:
        """Run the Procrastinate worker; start it again after a failure (the database went
        away), until :meth:`stop` cancels this."""
        from procrastinate.worker import Worker

        delay = RESTART_BACKOFF_S[0]
        while not self._stopping.is_set():
            # Procrastinate's Worker is not fully annotated.
            worker: Any = Worker(
                app=app,
                queues=self.queues,
                name=self.worker_id,
                concurrency=self.slots,
                delete_jobs="always",
                install_signal_handlers=False,
                update_heartbeat_interval=self.heartbeat_s,
                stalled_worker_timeout=self.stale_s,
                # Our own deadline hands executions back (see stop()); until then a worker
                # that stops -- asked to, or because the database went away -- lets running
                # executions finish.
                shutdown_graceful_timeout=None,
            )
            self._worker = worker
            run = asyncio.create_task(worker.run(), name="procrastinate-worker")
            try:
                await asyncio.shield(run)
            except asyncio.CancelledError:
                worker.stop()
                deadline = asyncio.create_task(self._hand_back_after(self._grace))
                with contextlib.suppress(Exception):
                    await run
                deadline.cancel()
                raise
            except Exception:
                log.exception("the queue worker stopped; starting it again in %.1fs", delay)
            else:
                if self._stopping.is_set():
                    return
                log.warning("the queue worker stopped; starting it again in %.1fs", delay)
            finally:
                self._worker = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_BACKOFF_S[1])

    async def _hand_back_after(self, grace: float) -> None:
        await asyncio.sleep(grace)
        with self._lock:
            running = list(self._running.items())
        for execution_id, (cancel, hand_back) in running:
            log.warning("handing execution %s back to the queue (worker stopping)", execution_id)
            hand_back.set()
            cancel.set()

    async def _watch(self, app: App) -> None:
        """Every heartbeat: renew ours (also for a Procrastinate worker that is draining
        after a failure), and settle the jobs of workers found dead."""
        while True:
            try:
                await asyncio.to_thread(
                    self.store.heartbeat_worker, self.worker_id, stopping=self._stopping.is_set()
                )
                worker = self._worker
                if worker is not None and worker.worker_id is not None:
                    await app.job_manager.update_heartbeat(worker.worker_id)
                await self._settle_lost(app)
            except Exception:
                log.warning("the worker heartbeat failed (database unreachable?)", exc_info=True)
            await asyncio.sleep(self.heartbeat_s)

    async def _settle_lost(self, app: App) -> None:
        stalled = await app.job_manager.get_stalled_jobs(
            task_name=TASK, seconds_since_heartbeat=self.stale_s
        )
        for job in stalled:
            if job.id is None:
                continue
            outcome = await asyncio.to_thread(
                self.store.settle_lost_job, job.id, backoff_s=self.retry_backoff_s
            )
            if outcome in ("retried", "crashed"):
                log.warning("job %s of a lost worker: execution %s", job.id, outcome)
        await app.job_manager.prune_stalled_workers(self.stale_s)
        await asyncio.to_thread(self.store.prune_workers, FORGET_LOST_WORKERS_S)

    # --- one job ----------------------------------------------------------------------------

    async def _job(self, context: JobContext, execution_id: str) -> None:
        """The task: claim the execution and run it in a free slot. An abort (a cancel, from
        any process) stops it; the job ends when the execution has ended or was handed back."""
        execution = await self._claim(execution_id)
        if execution is None:  # cancelled before it started, or run by the CLI
            return
        cancel, hand_back = threading.Event(), threading.Event()
        with self._lock:
            slot = self._free_slots.pop()
            self._running[execution_id] = (cancel, hand_back)
        loop = asyncio.get_running_loop()
        runner = self.runner
        assert runner is not None
        future = loop.run_in_executor(
            self._executor, runner.run, execution, cancel, slot, hand_back
        )
        try:
            while True:
                try:
                    await asyncio.shield(future)
                    return
                except asyncio.CancelledError:
                    # Procrastinate cancels an aborted job's task: a cancel from a user, or
                    # the worker shutting down after the database went away (let it run).
                    if context.should_abort() and not self._shutting_down(context):
                        cancel.set()
                    task = asyncio.current_task()
                    if task is not None:
                        task.uncancel()
        except Exception:
            log.exception("execution %s failed in the engine", execution_id)
        finally:
            with self._lock:
                self._running.pop(execution_id, None)
                self._free_slots.append(slot)

    async def _claim(self, execution_id: str) -> ExecutionRecord | None:
        """Claim ``execution_id`` for this worker, however long the database stays
        unreachable: the store retries for 60 s; past that the job is kept and the same
        claim -- same ``at``, so one whose answer was lost is found again -- is tried again
        until it is answered, also while this dispatcher stops. Giving up would fail the
        job (Procrastinate marks a job whose task raised ``failed``), leaving its execution
        queued with no job if the database were back by then; a worker that exits while
        still trying leaves the job ``doing``, settled like a lost worker's once its
        heartbeat is stale. Any other error is raised (the job fails)."""
        at = utcnow()
        while True:
            try:
                return await asyncio.to_thread(
                    self.store.claim_execution,
                    execution_id,
                    self.worker_id,
                    from_job=True,
                    at=at,
                )
            except OperationalError as error:
                if not disconnected(error):
                    raise
                log.warning(
                    "execution %s: database unreachable for 60 s; claiming it again",
                    execution_id,
                )

    @staticmethod
    def _shutting_down(context: Any) -> bool:
        from procrastinate.job_context import AbortReason

        return bool(context.abort_reason() == AbortReason.SHUTDOWN)
