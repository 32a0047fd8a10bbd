"""Workers and queues: a repository of the :class:`~runtree.store.Store`."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from ...models import QueueDepth, WorkerRecord
from .. import workers
from ..common import utcnow
from ..database import Database


class WorkerRepository:
    """The processes that run executions (their heartbeats) and the queues' depths."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def register_worker(
        self, worker_id: str, *, kind: str, host: str, pid: int, slots: int, queues: Sequence[str]
    ) -> None:
        """Record a worker that starts (``kind``: ``worker`` or ``server``)."""
        now = utcnow()
        self._db.write(
            lambda s: workers.register(
                s,
                worker_id=worker_id,
                kind=kind,
                host=host,
                pid=pid,
                slots=slots,
                queues=queues,
                now=now,
            )
        )

    def heartbeat_worker(self, worker_id: str, *, stopping: bool = False) -> None:
        """Renew a worker's heartbeat (``stopping``: it takes no more work)."""
        now = utcnow()
        self._db.write(lambda s: workers.heartbeat(s, worker_id, now, stopping=stopping))

    def unregister_worker(self, worker_id: str) -> None:
        """Forget a worker that stopped cleanly."""
        self._db.write(lambda s: workers.unregister(s, worker_id))

    def prune_workers(self, older_than_s: float) -> int:
        """Forget workers whose heartbeat stopped more than ``older_than_s`` seconds ago."""
        before = utcnow() - datetime.timedelta(seconds=older_than_s)
        return self._db.write(lambda s: workers.prune(s, before))

    def list_workers(self, live_within_s: float) -> list[WorkerRecord]:
        """Every recorded worker (live: a heartbeat within ``live_within_s`` seconds), live
        ones first, with the executions each runs now."""
        live_after = utcnow() - datetime.timedelta(seconds=live_within_s)
        with self._db.reading() as session:
            return workers.list_workers(session, live_after)

    def queue_depths(self) -> list[QueueDepth]:
        """Executions waiting and running, per queue (``default`` always listed)."""
        with self._db.reading() as session:
            return workers.queue_depths(session)
