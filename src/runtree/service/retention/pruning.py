"""A pruning pass: what the policies let go now, deleted in small paced batches (each its own
short write transaction), then SQLite's free pages given back; reported and audited."""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ...models import Permission, RetentionKind, RetentionPolicyRecord
from ...store import AuditEntry, Store
from ...store.retention import Usage
from ..access import Principal, authorize
from .policies import period, policy_for

# One batch: at most this many executions are chosen, and each transaction deletes at most
# BATCH_ROWS rows of their data (settings.retention_batch_rows).
BATCH_EXECUTIONS = 100
BATCH_ROWS = 2_000
# Free pages given back to the file system per transaction (4 MiB with 4 KiB pages).
VACUUM_PAGES = 1_024
MIN_PAUSE_S = 0.005


class PruneObserver(Protocol):
    """Told what a pruning pass deleted (the server's metrics)."""

    def executions_pruned(self, namespace: str, name: str, count: int) -> None: ...

    def deliveries_pruned(self, count: int) -> None: ...

    def audit_entries_pruned(self, count: int) -> None: ...


@dataclasses.dataclass
class Pacing:
    """How a pass spends the database: rows per transaction, and a pause after each
    transaction at least as long as it took (so pruning holds the write lock at most about
    half the time). ``stop`` ends a pass early (server shutdown)."""

    batch_rows: int = BATCH_ROWS
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)

    def pause(self, began: float) -> bool:
        """Wait after a transaction that began at ``began``; ``False`` when stopping."""
        return not self.stop.wait(max(time.monotonic() - began, MIN_PAUSE_S))


def prune(
    store: Store,
    principal: Principal | None,
    *,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
    pacing: Pacing | None = None,
    observer: PruneObserver | None = None,
) -> dict[str, Any]:
    """Prune what the policies let go now, or with ``dry_run`` only say what would go.

    ``principal`` must be an admin (``None``: the server's own pass). Returns a JSON
    document: per function ``executions``, ``steps`` and ``payload_bytes`` (the stored
    serialized values) -- what would go, or what went -- the deliveries and audit entries,
    totals, and (SQLite) ``reclaimed_bytes`` given back to the file system. A real prune
    asked by someone is audited as ``retention.prune``; the server's own passes are audited
    when they deleted something.
    """
    if principal is not None:
        authorize(principal, Permission.ADMIN)
    moment = now or datetime.datetime.now(datetime.UTC)
    pacing = pacing or Pacing()
    policies = store.retention.list_policies()
    functions: list[dict[str, Any]] = []
    for namespace, name in store.retention.functions_with_executions():
        policy = policy_for(policies, namespace, name)
        if policy is None or (policy.keep_days is None and policy.keep_last is None):
            continue
        limits = {"keep_days": policy.keep_days, "keep_last": policy.keep_last}
        usage: Usage | Pruned
        if dry_run:
            usage = store.retention.prunable_usage(namespace, name, now=moment, **limits)
        else:
            usage = _prune_function(store, namespace, name, limits, moment, pacing)
            if observer is not None and usage.executions:
                observer.executions_pruned(namespace, name, usage.executions)
        if usage.executions:
            functions.append(
                {
                    "namespace": namespace,
                    "function": name,
                    "policy": policy.target,
                    **limits,
                    **dataclasses.asdict(usage),
                }
            )
    document: dict[str, Any] = {"dry_run": dry_run, "functions": functions}
    document["deliveries"] = _prune_deliveries(store, policies, moment, dry_run, pacing)
    document["audit"] = _prune_audit(store, policies, moment, dry_run, pacing)
    if observer is not None and not dry_run:
        observer.deliveries_pruned(document["deliveries"]["count"])
        observer.audit_entries_pruned(document["audit"]["count"])
    document["totals"] = {
        "executions": sum(f["executions"] for f in functions),
        "steps": sum(f["steps"] for f in functions),
        "payload_bytes": sum(f["payload_bytes"] for f in functions) if dry_run else None,
    }
    document["reclaimed_bytes"] = 0 if dry_run else _reclaim(store, pacing)
    if not dry_run:
        _audit_prune(store, principal, document)
    return document


@dataclasses.dataclass(frozen=True, slots=True)
class Pruned:
    """What a real prune deleted of one function (payload bytes are known beforehand only:
    ``--dry-run`` says them)."""

    executions: int
    steps: int
    payload_bytes: None = None


def _prune_function(
    store: Store,
    namespace: str,
    name: str,
    limits: dict[str, int | None],
    moment: datetime.datetime,
    pacing: Pacing,
) -> Pruned:
    executions = steps = 0
    while not pacing.stop.is_set():
        ids = store.retention.next_prunable(
            namespace, name, now=moment, limit=BATCH_EXECUTIONS, **limits
        )
        if not ids:
            break
        done = False
        while not done:
            began = time.monotonic()
            deleted = store.retention.delete_executions(ids, max_rows=pacing.batch_rows)
            executions += deleted.executions
            steps += deleted.steps
            done = deleted.done
            if not pacing.pause(began):
                return Pruned(executions, steps)
    return Pruned(executions, steps)


def _prune_rows(
    count: Callable[[], int], delete: Callable[[int], int], dry_run: bool, pacing: Pacing
) -> int:
    if dry_run:
        return count()
    total = 0
    while not pacing.stop.is_set():
        began = time.monotonic()
        deleted = delete(pacing.batch_rows)
        total += deleted
        if deleted < pacing.batch_rows or not pacing.pause(began):
            break
    return total


def _prune_deliveries(
    store: Store,
    policies: list[RetentionPolicyRecord],
    moment: datetime.datetime,
    dry_run: bool,
    pacing: Pacing,
) -> dict[str, Any]:
    days = period(policies, RetentionKind.DELIVERIES)
    if days is None:
        return {"keep_days": None, "count": 0, "body_bytes": 0}
    before = moment - datetime.timedelta(days=days)
    count, size = store.retention.old_deliveries(before) if dry_run else (0, 0)
    if not dry_run:
        count = _prune_rows(
            lambda: 0,
            lambda limit: store.retention.delete_old_deliveries(before, limit=limit),
            dry_run,
            pacing,
        )
    return {"keep_days": days, "count": count, "body_bytes": size if dry_run else None}


def _prune_audit(
    store: Store,
    policies: list[RetentionPolicyRecord],
    moment: datetime.datetime,
    dry_run: bool,
    pacing: Pacing,
) -> dict[str, Any]:
    days = period(policies, RetentionKind.AUDIT)
    if days is None:
        return {"keep_days": None, "count": 0}
    before = moment - datetime.timedelta(days=days)
    count = _prune_rows(
        lambda: store.retention.old_audit_entries(before),
        lambda limit: store.retention.delete_old_audit_entries(before, limit=limit),
        dry_run,
        pacing,
    )
    return {"keep_days": days, "count": count}


def _reclaim(store: Store, pacing: Pacing) -> int:
    """SQLite with incremental vacuum: give free pages back, a few MiB per transaction."""
    space = store.retention.file_space()
    if space is None or space.auto_vacuum != "incremental" or not space.free_bytes:
        return 0
    while not pacing.stop.is_set():
        began = time.monotonic()
        if store.retention.incremental_vacuum(VACUUM_PAGES) < VACUUM_PAGES:
            break
        if not pacing.pause(began):
            break
    after = store.retention.file_space()
    return max(space.size_bytes - after.size_bytes, 0) if after is not None else 0


def _audit_prune(store: Store, principal: Principal | None, document: dict[str, Any]) -> None:
    totals = document["totals"]
    deleted = totals["executions"] + document["deliveries"]["count"] + document["audit"]["count"]
    if principal is None and not deleted:
        return  # the server's passes that found nothing leave no trace
    store.add_audit(
        AuditEntry(
            actor=principal.actor if principal is not None else "runtree serve (retention)",
            action="retention.prune",
            target="executions, deliveries and audit entries past their retention",
            details={
                "executions": totals["executions"],
                "steps": totals["steps"],
                "deliveries": document["deliveries"]["count"],
                "audit_entries": document["audit"]["count"],
                "reclaimed_bytes": document["reclaimed_bytes"],
            },
        )
    )
