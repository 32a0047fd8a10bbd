"""The pruning loop inside ``runtree serve``: a thread that runs
:func:`runtree.service.retention.prune` every ``interval`` seconds, in small paced batches
(see :mod:`runtree.service.retention`), and the same pass on demand for the HTTP API.

Several servers on one database may each run one: every batch re-checks what it deletes in
its own transaction, so they never delete anything twice or anything they should not.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..models import Permission
from ..store import Store
from .access import Principal, authorize
from .retention import Pacing, PruneObserver, prune

log = logging.getLogger("runtree.retention")


class Pruner:
    """Prunes on a timer (:meth:`start` / :meth:`stop`) and on demand (:meth:`run`); one
    pass at a time in this process."""

    def __init__(
        self,
        store: Store,
        *,
        interval: float,
        batch_rows: int,
        observer: PruneObserver | None = None,
    ) -> None:
        self.store = store
        self.interval = interval
        self.observer = observer
        self._pacing = Pacing(batch_rows=batch_rows)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self, principal: Principal | None, *, dry_run: bool = False) -> dict[str, Any]:
        """One pass now (waits for a pass under way to end first); see
        :func:`runtree.service.retention.prune`."""
        if principal is not None:
            authorize(principal, Permission.ADMIN)  # before waiting for a pass under way
        with self._lock:
            return prune(
                self.store,
                principal,
                dry_run=dry_run,
                pacing=self._pacing,
                observer=None if dry_run else self.observer,
            )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="runtree-pruner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """End the loop; a pass under way stops after its current transaction."""
        self._pacing.stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._pacing.stop.wait(self.interval):
            try:
                report = self.run(None)
            except Exception:
                log.exception("retention: a pruning pass failed; the next one tries again")
                continue
            totals = report["totals"]
            if totals["executions"] or report["deliveries"]["count"] or report["audit"]["count"]:
                log.info(
                    "retention: pruned %d execution(s) (%d steps), %d delivery(ies), "
                    "%d audit entry(ies); %d bytes given back to the file system",
                    totals["executions"],
                    totals["steps"],
                    report["deliveries"]["count"],
                    report["audit"]["count"],
                    report["reclaimed_bytes"],
                )
