"""Waiting for executions to finish without holding a thread or hammering the database.

:class:`CompletionHub` is an in-process notice board: the server's runner
(:class:`~runtree.execution.runner.NotifyingRunner`) publishes every execution it finishes,
and a request waiting for that execution is woken on the event loop at once. On PostgreSQL,
executions finished by queue workers elsewhere are announced through LISTEN/NOTIFY
(:meth:`CompletionHub.finished_elsewhere`), with their end when it fits in the notice
(:mod:`runtree.store.end_notice`): the waiting request completes the record it holds and
answers without reading the store. Anything else finished elsewhere (a cancellation through
the CLI on SQLite) is still seen, by a slow poll of the store that backs every wait up.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..models import ExecutionRecord
from ..store import NotFoundError, Store
from ..store.end_notice import EndNotice

log = logging.getLogger("runtree.api")

# Resolved with the end: a record published here, an end announced by another process, or
# None (it ended before the wait began, or elsewhere without its end): read the store.
Waiter = asyncio.Future[ExecutionRecord | EndNotice | None]

REMEMBERED = 4096
# The store is only a backstop (this process's runner publishes what it finishes): a first
# poll soon after the start costs every waiting request a read, under load several.
FIRST_POLL_S = 0.25
MAX_POLL_S = 0.5


class CompletionHub:
    """Connects the threads that finish executions with the requests waiting for them.

    :meth:`publish` may be called from any thread; :meth:`subscribe` and :meth:`unsubscribe`
    from the event loop. The ids of the last ``remember`` finished executions are kept (ids
    only: records can be large), so a request that subscribes just after its execution
    finished is told at once instead of missing the notice.
    """

    def __init__(self, remember: int = REMEMBERED) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[Waiter]] = {}
        self._recent: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._remember = remember

    def publish(self, record: ExecutionRecord) -> None:
        """``record`` has finished: wake whoever waits for it (unfinished records are
        ignored)."""
        if not record.finished:
            return
        with self._lock:
            self._remember_finished(record.id)
            waiters = self._waiters.pop(record.id, [])
        for future in waiters:
            # RuntimeError: that event loop is closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                future.get_loop().call_soon_threadsafe(_resolve, future, record)

    def finished_elsewhere(self, execution_id: str, end: EndNotice | None = None) -> None:
        """``execution_id`` was finished by another process (a queue worker), which
        announced ``end`` (or only the id): wake whoever waits for it, with that end to
        complete the record it holds, else to read the end from the store. Any thread."""
        with self._lock:
            self._remember_finished(execution_id)
            waiters = self._waiters.pop(execution_id, [])
        for future in waiters:
            with contextlib.suppress(RuntimeError):
                future.get_loop().call_soon_threadsafe(_resolve_elsewhere, future, end)

    def _remember_finished(self, execution_id: str) -> None:
        """Under ``self._lock``: a wait that begins after this is told at once."""
        self._recent[execution_id] = None
        self._recent.move_to_end(execution_id)
        while len(self._recent) > self._remember:
            self._recent.popitem(last=False)

    def subscribe(self, execution_id: str) -> Waiter:
        """A future resolved once the execution has finished: with its record, with its end
        as another process announced it, or with ``None`` when it had already finished
        before this call (read it from the store). Call :meth:`unsubscribe` when done
        waiting."""
        loop = asyncio.get_running_loop()
        future: Waiter = loop.create_future()
        with self._lock:
            finished = execution_id in self._recent
            if not finished:
                self._waiters.setdefault(execution_id, []).append(future)
        if finished:
            future.set_result(None)
        return future

    def unsubscribe(self, execution_id: str, future: Waiter) -> None:
        with self._lock:
            waiters = self._waiters.get(execution_id)
            if waiters is not None and future in waiters:
                waiters.remove(future)
                if not waiters:
                    del self._waiters[execution_id]

    @property
    def waiting(self) -> int:
        """How many requests are waiting (for tests and metrics)."""
        with self._lock:
            return sum(len(w) for w in self._waiters.values())


def _resolve(future: Waiter, record: ExecutionRecord) -> None:
    if not future.done():
        future.set_result(record)


def _resolve_elsewhere(future: Waiter, end: EndNotice | None) -> None:
    if not future.done():
        future.set_result(end)


async def wait_finished(
    store: Store, hub: CompletionHub, execution: ExecutionRecord, timeout: float
) -> ExecutionRecord:
    """``execution``'s record once it has finished, or its current record after ``timeout``
    seconds. ``execution`` is the record as the caller has it (as queued, or read since):
    an end announced by another process completes it (the rest of a record does not change
    once queued). Never blocks the event loop; reads the store only now and then (starting
    after :data:`FIRST_POLL_S`, backing off to :data:`MAX_POLL_S`), in case the execution is
    finished by someone who does not publish to ``hub``. Raises :class:`NotFoundError` for an
    unknown id."""
    execution_id = execution.id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    future = hub.subscribe(execution_id)
    try:
        delay = FIRST_POLL_S
        polled = False
        while True:
            remaining = deadline - loop.time()
            if remaining > 0 and not future.done():
                await asyncio.wait({future}, timeout=min(delay, remaining))
            elif remaining > 0 and polled and not isinstance(future.result(), ExecutionRecord):
                # Told it finished (elsewhere, or before we subscribed), yet the store did
                # not show it: keep polling at the poll's pace, not in a tight loop.
                await asyncio.sleep(min(delay, remaining))
            if future.done():
                published = future.result()
                if isinstance(published, ExecutionRecord):
                    return published
                if published is not None:
                    completed = published.complete(execution)
                    if completed is not None:
                        return completed
                # None: it finished before we subscribed, or elsewhere without its end (or
                # with one this version cannot read); the store has its end.
            record = await run_in_threadpool(store.get_execution, execution_id)
            if record is None:
                raise NotFoundError("execution", execution_id)
            # Not "or future.done()": published while the store was being read, the future
            # holds the end and this read may not; the next round returns it.
            if record.finished or deadline - loop.time() <= 0:
                return record
            polled = True
            delay = min(delay * 2, MAX_POLL_S)
    finally:
        hub.unsubscribe(execution_id, future)


async def get_hub(request: Request) -> CompletionHub:
    """FastAPI dependency: the application's :class:`CompletionHub`."""
    hub: CompletionHub = request.app.state.hub
    return hub
