"""Retention: how long executions, webhook deliveries and audit entries are kept, and
pruning what the policies let go.

**Policies** (admin only, each change audited as ``retention.set`` / ``retention.unset``):

- executions, per function (``NS/NAME``), per namespace (``NS``) or for every namespace
  without a policy of its own (``*``): ``keep_days`` -- executions queued more than N days
  ago go -- and/or ``keep_last`` -- only the newest N executions of each function stay. Both
  are limits: an execution goes when either lets it go. The most specific policy applies, as
  a whole (a function's policy replaces its namespace's); a policy with neither limit keeps
  everything (to exempt one function from its namespace's policy).
- webhook deliveries and audit entries: ``keep_days`` each, for every namespace. The audit
  log is kept longest: an audit period shorter than another period is refused.

Without any policy -- a fresh install -- everything is kept.

**Never pruned**: executions that are queued or running, and executions that a pending
(queued or running) replay names; deliveries whose execution is pending.

**Pruning** (:func:`prune`, run by ``runtree prune``, ``POST /api/v1/retention/prune`` and
every few minutes by :class:`~runtree.service.pruner.Pruner` inside ``runtree serve``) works in
small batches, each its own short write transaction, pausing between them at least as long
as the batch took, so the API's own writes never wait long. An execution with more rows than
a batch holds is removed over several transactions (its steps first, the execution last); a
reader in between may see it with part of its steps. On SQLite, free pages then go back to
the file system (``PRAGMA incremental_vacuum``) when the database has
``auto_vacuum=INCREMENTAL``: new databases do; an older one needs one ``VACUUM``
(``runtree storage --vacuum``) before it can, and until then reuses the space it freed.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import InvalidRetention
from ..models import EVERY_NAMESPACE, Permission, RetentionKind, RetentionPolicyRecord
from ..store import AuditEntry, Store
from ..store.retention import Usage
from .access import Principal, authorize

MAX_KEEP_DAYS = 36_500
MAX_KEEP_LAST = 1_000_000_000
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


# --- policies ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """What a policy covers (see :func:`parse_target`)."""

    kind: RetentionKind
    namespace: str = EVERY_NAMESPACE
    function: str = ""


def parse_target(text: str | None, kind: RetentionKind | str = RetentionKind.EXECUTIONS) -> Target:
    """``kind`` executions: ``text`` is ``*`` or ``None`` (every namespace), ``NS`` or
    ``NS/NAME``; deliveries and audit take no target. :class:`InvalidRetention` otherwise."""
    try:
        kind = RetentionKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in RetentionKind)
        raise InvalidRetention("kind", f"kind must be one of {allowed}, got {kind!r}") from None
    if kind is not RetentionKind.EXECUTIONS:
        if text not in (None, "", EVERY_NAMESPACE):
            raise InvalidRetention(
                "target", f"{kind.value} have one policy for every namespace: give no target"
            )
        return Target(kind)
    if text in (None, "", EVERY_NAMESPACE):
        return Target(kind)
    namespace, slash, name = str(text).partition("/")
    if not namespace.isidentifier() or (slash and not name.isidentifier()):
        raise InvalidRetention(
            "target", f"expected *, NAMESPACE or NAMESPACE/FUNCTION (identifiers), got {text!r}"
        )
    return Target(kind, namespace, name)


def _check_limit(field: str, value: object, most: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidRetention(field, f"{field} must be a whole number from 1 to {most:,}")
    return value


def list_policies(store: Store, principal: Principal) -> list[RetentionPolicyRecord]:
    """Every policy (admin)."""
    authorize(principal, Permission.ADMIN)
    return store.retention.list_policies()


def set_policy(
    store: Store,
    principal: Principal,
    target: Target,
    *,
    keep_days: int | None,
    keep_last: int | None,
) -> RetentionPolicyRecord:
    """Create or replace the policy of ``target`` (admin; audited as ``retention.set``).
    Raises :class:`InvalidRetention` naming the parameter at fault."""
    authorize(principal, Permission.ADMIN)
    keep_days = _check_limit("keep_days", keep_days, MAX_KEEP_DAYS)
    keep_last = _check_limit("keep_last", keep_last, MAX_KEEP_LAST)
    if keep_last is not None and target.kind is not RetentionKind.EXECUTIONS:
        raise InvalidRetention("keep_last", f"{target.kind.value} are kept by age only")
    if target.kind is not RetentionKind.EXECUTIONS and keep_days is None:
        raise InvalidRetention(
            "keep_days", f"give keep_days (to keep {target.kind.value} forever, remove the policy)"
        )
    _check_audit_longest(store.retention.list_policies(), target, keep_days)
    return store.retention.set_policy(
        kind=target.kind,
        namespace=target.namespace,
        function=target.function,
        keep_days=keep_days,
        keep_last=keep_last,
        audit=AuditEntry(
            actor=principal.actor,
            action="retention.set",
            target=f"retention of {describe(target)}",
            namespace=_audit_namespace(target),
            details={"keep_days": keep_days, "keep_last": keep_last},
        ),
    )


def remove_policy(store: Store, principal: Principal, target: Target) -> RetentionPolicyRecord:
    """Remove the policy of ``target`` (admin; audited as ``retention.unset``): the next
    less specific policy applies, or none. :class:`NotFoundError` when there is none."""
    authorize(principal, Permission.ADMIN)
    return store.retention.delete_policy(
        kind=target.kind,
        namespace=target.namespace,
        function=target.function,
        audit=AuditEntry(
            actor=principal.actor,
            action="retention.unset",
            target=f"retention of {describe(target)}",
            namespace=_audit_namespace(target),
        ),
    )


def describe(target: Target) -> str:
    if target.kind is not RetentionKind.EXECUTIONS:
        return target.kind.value
    if target.namespace == EVERY_NAMESPACE:
        return "executions of every namespace"
    name = f"{target.namespace}/{target.function}" if target.function else target.namespace
    return f"executions of {name}"


def _audit_namespace(target: Target) -> str | None:
    return None if target.namespace == EVERY_NAMESPACE else target.namespace


def _check_audit_longest(
    policies: list[RetentionPolicyRecord], target: Target, keep_days: int | None
) -> None:
    """The audit log is kept longest: no period may be longer than the audit period."""
    if keep_days is None:
        return
    others = [
        p
        for p in policies
        if p.keep_days is not None
        and (p.kind, p.namespace, p.function) != (target.kind, target.namespace, target.function)
    ]
    if target.kind is RetentionKind.AUDIT:
        longest = max(others, key=lambda p: p.keep_days or 0, default=None)
        if longest is not None and longest.keep_days is not None and longest.keep_days > keep_days:
            raise InvalidRetention(
                "keep_days",
                f"the audit log is kept longest: {longest.target} keeps {longest.keep_days} "
                f"days, so the audit period must be at least that",
            )
        return
    audit = next((p for p in others if p.kind is RetentionKind.AUDIT), None)
    if audit is not None and audit.keep_days is not None and keep_days > audit.keep_days:
        raise InvalidRetention(
            "keep_days",
            f"the audit log is kept longest ({audit.keep_days} days): "
            f"keep_days must be at most that (or lengthen the audit period first)",
        )


def policy_for(
    policies: list[RetentionPolicyRecord], namespace: str, name: str
) -> RetentionPolicyRecord | None:
    """The executions policy of ``namespace/name``: its own, else its namespace's, else the
    one for every namespace, else ``None`` (keep everything)."""
    by_key = {(p.namespace, p.function): p for p in policies if p.kind is RetentionKind.EXECUTIONS}
    for key in ((namespace, name), (namespace, ""), (EVERY_NAMESPACE, "")):
        if key in by_key:
            return by_key[key]
    return None


def _period(policies: list[RetentionPolicyRecord], kind: RetentionKind) -> int | None:
    return next((p.keep_days for p in policies if p.kind is kind), None)


# --- pruning ----------------------------------------------------------------------------------


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
    days = _period(policies, RetentionKind.DELIVERIES)
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
    days = _period(policies, RetentionKind.AUDIT)
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


# --- storage ----------------------------------------------------------------------------------


def storage(store: Store, principal: Principal, *, vacuum: bool = False) -> dict[str, Any]:
    """Sizes per namespace and function (admin): executions, steps, payload bytes (the
    stored serialized values), each function's retention policy; the deliveries and audit
    entries; the database's size and, on SQLite, its free bytes and ``auto_vacuum`` mode.

    ``vacuum`` (SQLite) first rebuilds the file with ``VACUUM`` (audited as
    ``retention.vacuum``): see :meth:`runtree.store.repositories.RetentionRepository.vacuum`.
    """
    authorize(principal, Permission.ADMIN)
    if vacuum and store.is_sqlite:
        before = store.retention.database_bytes()
        store.retention.vacuum()
        after = store.retention.database_bytes()
        store.add_audit(
            AuditEntry(
                actor=principal.actor,
                action="retention.vacuum",
                target="the SQLite database file",
                details={"bytes_before": before, "bytes_after": after},
            )
        )
    policies = store.retention.list_policies()
    usage = store.retention.usage_by_function()
    namespaces: dict[str, dict[str, Any]] = {}
    for (namespace, name), used in sorted(usage.items()):
        policy = policy_for(policies, namespace, name)
        entry = namespaces.setdefault(
            namespace,
            {
                "namespace": namespace,
                "executions": 0,
                "steps": 0,
                "payload_bytes": 0,
                "functions": [],
            },
        )
        for key in ("executions", "steps", "payload_bytes"):
            entry[key] += getattr(used, key)
        entry["functions"].append(
            {
                "function": name,
                **dataclasses.asdict(used),
                "policy": None if policy is None else policy.target,
                "keep_days": None if policy is None else policy.keep_days,
                "keep_last": None if policy is None else policy.keep_last,
            }
        )
    deliveries, delivery_bytes = store.retention.delivery_totals()
    space = store.retention.file_space()
    return {
        "namespaces": list(namespaces.values()),
        "deliveries": {
            "count": deliveries,
            "body_bytes": delivery_bytes,
            "keep_days": _period(policies, RetentionKind.DELIVERIES),
        },
        "audit": {
            "count": store.retention.audit_total(),
            "keep_days": _period(policies, RetentionKind.AUDIT),
        },
        "database": {
            "backend": "sqlite" if store.is_sqlite else "postgresql",
            "size_bytes": store.retention.database_bytes(),
            "free_bytes": None if space is None else space.free_bytes,
            "auto_vacuum": None if space is None else space.auto_vacuum,
        },
    }
