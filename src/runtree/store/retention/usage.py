"""What executions hold -- rows and stored bytes: of those a policy lets go (what a prune
would free) and of every function (the storage report)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..common import table
from ..inline_sizes import inline_blob_bytes
from ..schema import ExecutionRow, PayloadRow, StepRow, WorldRow

_EXECUTIONS = table(ExecutionRow)
_STEPS = table(StepRow)


@dataclasses.dataclass(frozen=True, slots=True)
class Usage:
    """Rows and bytes: ``executions``, their ``steps`` and the serialized values of those
    steps (``payload_bytes``: the stored blobs, in ``step_payloads`` rows or inline in the
    step rows, and the executions' stored recordings of the
    outside world, see :mod:`..worlds`)."""

    executions: int
    steps: int
    payload_bytes: int


def usage_of(session: Session, ids: Select[Any]) -> Usage:
    """What the executions whose ids ``ids`` selects hold."""
    subquery = ids.scalar_subquery()
    executions = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    steps = session.scalar(
        select(func.count()).select_from(StepRow).where(StepRow.execution_id.in_(subquery))
    )
    payload = session.scalar(
        select(func.coalesce(func.sum(func.length(PayloadRow.blob)), 0)).where(
            PayloadRow.execution_id.in_(subquery)
        )
    )
    inline_from, inline_size = inline_blob_bytes(session)
    inline = session.scalar(
        select(func.coalesce(func.sum(inline_size), 0))
        .select_from(inline_from)
        .where(_STEPS.c.execution_id.in_(subquery))
    )
    recordings = session.scalar(
        select(func.coalesce(func.sum(WorldRow.size_bytes), 0)).where(
            WorldRow.execution_id.in_(subquery)
        )
    )
    total = int(payload or 0) + int(inline or 0) + int(recordings or 0)
    return Usage(int(executions), int(steps or 0), total)


def usage_by_function(session: Session) -> dict[tuple[str, str], Usage]:
    """Executions, steps and payload bytes of every function that has executions (four
    grouped scans: the cost grows with the database)."""
    e = _EXECUTIONS
    runs = dict(
        ((str(ns), str(name)), int(count))
        for ns, name, count in session.execute(
            select(e.c.namespace, e.c.name, func.count()).group_by(e.c.namespace, e.c.name)
        )
    )
    steps = dict(
        ((str(ns), str(name)), int(count))
        for ns, name, count in session.execute(
            select(e.c.namespace, e.c.name, func.count())
            .select_from(StepRow)
            .join(e, e.c.id == StepRow.execution_id)
            .group_by(e.c.namespace, e.c.name)
        )
    )
    payload = dict(
        ((str(ns), str(name)), int(total or 0))
        for ns, name, total in session.execute(
            select(e.c.namespace, e.c.name, func.sum(func.length(PayloadRow.blob)))
            .select_from(PayloadRow)
            .join(e, e.c.id == PayloadRow.execution_id)
            .group_by(e.c.namespace, e.c.name)
        )
    )
    inline_from, inline_size = inline_blob_bytes(session)
    for ns, name, total in session.execute(
        select(e.c.namespace, e.c.name, func.sum(inline_size))
        .select_from(inline_from.join(e, e.c.id == _STEPS.c.execution_id))
        .group_by(e.c.namespace, e.c.name)
    ):
        key = (str(ns), str(name))
        payload[key] = payload.get(key, 0) + int(total or 0)
    for ns, name, total in session.execute(
        select(e.c.namespace, e.c.name, func.sum(WorldRow.size_bytes))
        .select_from(WorldRow)
        .join(e, e.c.id == WorldRow.execution_id)
        .group_by(e.c.namespace, e.c.name)
    ):
        key = (str(ns), str(name))
        payload[key] = payload.get(key, 0) + int(total or 0)
    return {
        key: Usage(count, steps.get(key, 0), payload.get(key, 0)) for key, count in runs.items()
    }
