"""Who runs executions: the workers (``runtree workers``, ``GET /workers``, the Workers page)."""

from __future__ import annotations

import dataclasses

from ..errors import Forbidden
from ..models import Permission, QueueDepth, WorkerRecord
from ..store import Store
from ..store.workers import STALE_HEARTBEATS
from .access import Principal, authorize


@dataclasses.dataclass(frozen=True)
class WorkersOverview:
    workers: list[WorkerRecord]
    queues: list[QueueDepth]


def workers_overview(
    store: Store, principal: Principal | None, *, heartbeat_s: float
) -> WorkersOverview:
    """Every worker (live: a heartbeat within :data:`STALE_HEARTBEATS` heartbeats) and every
    queue. ``principal`` (``None``: the local CLI) needs read access to every namespace."""
    if principal is not None:
        authorize(principal, Permission.READ)
        if principal.namespace is not None:
            raise Forbidden(
                f"the workers run every namespace's executions; the key is limited to "
                f"{principal.namespace!r}",
                permission=Permission.READ,
                namespace=principal.namespace,
            )
    return WorkersOverview(
        workers=store.list_workers(live_within_s=heartbeat_s * STALE_HEARTBEATS),
        queues=store.queue_depths(),
    )
