"""Webhook deliveries and audit entries past their period: selecting, counting, and deleting
them a few at a time."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import Select, Table, delete, func, or_, select
from sqlalchemy.orm import Session

from ..common import chunks, rowcount, table
from ..schema import AuditRow, DeliveryRow, ExecutionRow
from .prunable import PENDING

_EXECUTIONS = table(ExecutionRow)


def old_deliveries(before: datetime.datetime) -> Select[Any]:
    """Deliveries received before ``before``, except those whose execution is pending."""
    e = _EXECUTIONS
    pending = select(e.c.id).where(e.c.status.in_(PENDING))
    return select(DeliveryRow.id).where(
        DeliveryRow.received_at < before,
        or_(DeliveryRow.execution_id.is_(None), DeliveryRow.execution_id.not_in(pending)),
    )


def old_audit_entries(before: datetime.datetime) -> Select[Any]:
    return select(AuditRow.id).where(AuditRow.at < before)


def count_and_bytes(session: Session, ids: Select[Any], size: Any = None) -> tuple[int, int]:
    """How many rows ``ids`` selects and, with ``size`` (a column of them), its total."""
    subquery = ids.subquery()
    count = session.scalar(select(func.count()).select_from(subquery)) or 0
    if size is None:
        return int(count), 0
    total = session.scalar(
        select(func.coalesce(func.sum(func.length(size)), 0)).where(
            size.table.c.id.in_(ids.scalar_subquery())
        )
    )
    return int(count), int(total or 0)


def delete_some(session: Session, ids: Select[Any], target: Table, limit: int) -> int:
    """Delete at most ``limit`` rows of ``target`` (deliveries, audit entries) whose ids
    ``ids`` selects."""
    chosen = list(session.scalars(ids.order_by(target.c.id).limit(limit)))
    deleted = 0
    for chunk in chunks(chosen):
        deleted += rowcount(session.execute(delete(target).where(target.c.id.in_(chunk))))
    return deleted


DELIVERIES_TABLE = table(DeliveryRow)
AUDIT_TABLE = table(AuditRow)
