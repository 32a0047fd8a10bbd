"""Retention policies' rows: listing, creating or replacing, and removing them (the checks
and the audit are the callers'; see :mod:`runtree.service.retention`)."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ...errors import NotFoundError
from ...models import EVERY_NAMESPACE, RetentionKind, RetentionPolicyRecord
from ..common import table, upsert_insert
from ..schema import RetentionPolicyRow


def list_policies(session: Session) -> list[RetentionPolicyRecord]:
    """Every policy: executions (every namespace first, then by namespace and function),
    then deliveries, then audit."""
    rows = session.scalars(select(RetentionPolicyRow))
    order = {kind: index for index, kind in enumerate(RetentionKind)}
    records = [_record(row) for row in rows]
    return sorted(
        records,
        key=lambda r: (order[r.kind], r.namespace != EVERY_NAMESPACE, r.namespace, r.function),
    )


def set_policy(
    session: Session,
    *,
    kind: RetentionKind,
    namespace: str,
    function: str,
    keep_days: int | None,
    keep_last: int | None,
    actor: str | None,
    now: datetime.datetime,
) -> RetentionPolicyRecord:
    """Create or replace the policy of ``(kind, namespace, function)``."""
    values = {
        "kind": kind.value,
        "namespace": namespace,
        "function": function,
        "keep_days": keep_days,
        "keep_last": keep_last,
        "updated_at": now,
        "updated_by": actor,
    }
    insert = upsert_insert(session, table(RetentionPolicyRow)).values(values)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["kind", "namespace", "function"],
            set_={k: values[k] for k in ("keep_days", "keep_last", "updated_at", "updated_by")},
        )
    )
    row = session.scalars(_policy_query(kind, namespace, function)).one()
    return _record(row)


def delete_policy(
    session: Session, *, kind: RetentionKind, namespace: str, function: str
) -> RetentionPolicyRecord:
    """Remove a policy; :class:`NotFoundError` when there is none."""
    row = session.scalars(_policy_query(kind, namespace, function)).one_or_none()
    if row is None:
        target = f"{namespace}/{function}" if function else namespace
        raise NotFoundError(
            "retention policy", target if kind is RetentionKind.EXECUTIONS else kind.value
        )
    record = _record(row)
    session.delete(row)
    return record


def _policy_query(kind: RetentionKind, namespace: str, function: str) -> Select[Any]:
    return select(RetentionPolicyRow).where(
        RetentionPolicyRow.kind == kind.value,
        RetentionPolicyRow.namespace == namespace,
        RetentionPolicyRow.function == function,
    )


def _record(row: RetentionPolicyRow) -> RetentionPolicyRecord:
    return RetentionPolicyRecord(
        kind=RetentionKind(row.kind),
        namespace=row.namespace,
        function=row.function,
        keep_days=row.keep_days,
        keep_last=row.keep_last,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )
