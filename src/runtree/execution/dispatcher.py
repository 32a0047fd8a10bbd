"""Dispatchers take queued executions and run them.

The executions table is the durable queue: an execution row is the job, enqueueing is one
transaction, and claiming is an atomic state change in the store. :class:`Dispatcher` is the
interface the server uses; :class:`LocalDispatcher` runs executions in this process's worker
slots. A distributed engine can implement the same interface without touching how an execution
runs (:class:`~runtree.execution.runner.ExecutionRunner`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Protocol

from ..store import Store
from .runner import ExecutionRunner

log = logging.getLogger("runtree.dispatcher")

POLL_INTERVAL_S = 0.5
ORPHAN_CANCELLED = {"type": "Cancelled", "message": "the execution was cancelled"}
ENGINE_FAILED = {
    "type": "EngineError",
    "message": "the engine failed while running this execution; its end was not recorded",
}


class Dispatcher(Protocol):
    def start(self) -> None:
        """Begin taking executions from the queue."""

    def notify(self) -> None:
        """New executions were queued (a hint; dispatchers also poll)."""

    def cancel(self, execution_id: str) -> bool:
        """Stop a running execution of this dispatcher; False if it runs elsewhere."""

    def stop(self, grace: float = 5.0) -> None:
        """Stop taking work; running executions get ``grace`` seconds to finish, then are
        cancelled: none is left ``running``."""


class LocalDispatcher:
    """``slots`` threads, each claiming and running one execution at a time."""

    def __init__(self, store: Store, runner: ExecutionRunner, slots: int | None = None) -> None:
        self.store = store
        self.runner = runner
        self.slots = slots or os.cpu_count() or 2
        self.worker_id = f"server:{socket.gethostname()}:{os.getpid()}"
        self._wake = threading.Condition()
        # notify() calls no slot has acted on yet: executions queued in this process that a
        # slot should claim without waiting for the next poll.
        self._announced = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        for index in range(self.slots):
            thread = threading.Thread(
                target=self._slot, args=(index,), name=f"runtree-slot-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        watcher = threading.Thread(
            target=self._watch_cancellations, name="runtree-cancel", daemon=True
        )
        watcher.start()
        self._threads.append(watcher)

    def notify(self) -> None:
        with self._wake:
            self._announced += 1
            self._wake.notify()

    def cancel(self, execution_id: str) -> bool:
        """Stop ``execution_id`` if one of our slots runs it; if it is ours (claimed by this
        dispatcher) but no slot runs it any more, end it ``cancelled`` here: an execution
        never stays ``running`` after its worker is gone. False: it runs elsewhere."""
        with self._lock:
            event = self._running.get(execution_id)
        if event is None:
            return self._end_orphan(execution_id, "cancelled", ORPHAN_CANCELLED)
        event.set()
        return True

    def _end_orphan(self, execution_id: str, status: str, error: dict[str, str]) -> bool:
        """End ``execution_id`` with ``status`` if it is ``running``, claimed by us, and no
        slot of ours runs it. Whether it was ours."""
        try:
            record = self.store.get_execution(execution_id)
            if record is None or record.worker_id != self.worker_id:
                return False
            with self._lock:
                event = self._running.get(execution_id)
            if event is not None:  # a slot took it meanwhile: not an orphan
                if status == "cancelled":
                    event.set()
                return True
            if record.status == "running":
                self.store.finish_execution(execution_id, status=status, error=dict(error))
            return True
        except Exception:
            log.exception("could not end execution %s", execution_id)
            return False

    def stop(self, grace: float = 5.0) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + grace
        while self.running and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            for event in self._running.values():
                event.set()  # what is still running ends as cancelled, never stays running
        for thread in self._threads:
            thread.join(10.0)

    @property
    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def _slot(self, index: int) -> None:
        """Claim and run, one execution at a time (as sandbox slot ``index``: its own uid,
        which no other running execution has). A slot looks at the queue when it starts,
        after each run when more executions were queued, when an execution was announced
        (:meth:`notify`), and at least every :data:`POLL_INTERVAL_S` (executions queued by
        other processes)."""
        look_now = True
        while not self._stopping.is_set():
            announced = False
            if not look_now:
                with self._wake:
                    if not self._announced and not self._stopping.is_set():
                        self._wake.wait(POLL_INTERVAL_S)
                    if self._announced:
                        self._announced -= 1
                        announced = True
                if self._stopping.is_set():
                    break
            try:
                execution, look_now = self.store.claim_next(self.worker_id, expect_queued=announced)
            except Exception:
                log.exception("could not claim an execution")
                execution, look_now = None, False
            if execution is None:
                continue
            cancel = threading.Event()
            with self._lock:
                self._running[execution.id] = cancel
            try:
                self.runner.run(execution, cancel, slot=index)
                failed = False
            except Exception:
                log.exception("execution %s failed in the engine", execution.id)
                failed = True
            finally:
                with self._lock:
                    self._running.pop(execution.id, None)
            if failed:  # its end may not be recorded: it must not stay running
                self._end_orphan(execution.id, "crashed", ENGINE_FAILED)

    def _watch_cancellations(self) -> None:
        """Cancellations requested through another process reach us through the store."""
        while not self._stopping.wait(POLL_INTERVAL_S):
            for execution_id in self.running:
                try:
                    record = self.store.get_execution(execution_id)
                except Exception:
                    continue
                if record is not None and record.cancel_requested:
                    self.cancel(execution_id)
