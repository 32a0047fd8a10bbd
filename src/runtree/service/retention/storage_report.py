"""The storage report (``runtree storage``, ``GET /api/v1/storage``): what each namespace and
function stores and the policy that applies to it, the deliveries and audit entries, and the
database's size -- optionally after rebuilding a SQLite file."""

from __future__ import annotations

import dataclasses
from typing import Any

from ...models import Permission, RetentionKind
from ...store import AuditEntry, Store
from ..access import Principal, authorize
from .policies import period, policy_for


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
            "keep_days": period(policies, RetentionKind.DELIVERIES),
        },
        "audit": {
            "count": store.retention.audit_total(),
            "keep_days": period(policies, RetentionKind.AUDIT),
        },
        "database": {
            "backend": "sqlite" if store.is_sqlite else "postgresql",
            "size_bytes": store.retention.database_bytes(),
            "free_bytes": None if space is None else space.free_bytes,
            "auto_vacuum": None if space is None else space.auto_vacuum,
        },
    }
