"""Which executions a policy lets go: finished ones past its limits that no pending replay
needs -- selected once per batch, and checked again in the transaction that deletes them."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Select, or_, select
from sqlalchemy.orm import Session

from ...models import FINISHED_STATUSES, ExecutionStatus
from ..common import chunks, table
from ..schema import ExecutionRow, WorldRow

_EXECUTIONS = table(ExecutionRow)
_WORLDS = table(WorldRow)
_FINISHED = sorted(str(status) for status in FINISHED_STATUSES)
# The statuses of pending work (never pruned; :mod:`.old_entries` keeps their deliveries).
PENDING = (ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value)


def id_floor(moment: datetime.datetime) -> str:
    """The smallest execution id created at ``moment`` or later: ids are UUIDv7, their first
    48 bits the creation time in milliseconds (:mod:`..ids`), so "queued before ``moment``"
    is ``id < id_floor(moment)`` -- a range of the primary key."""
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    millis = max(0, (moment - epoch) // datetime.timedelta(milliseconds=1))
    return f"{millis & ((1 << 48) - 1):012x}" + "0" * 20


def functions_with_executions(session: Session) -> list[tuple[str, str]]:
    """Every ``(namespace, name)`` that has executions (one index scan)."""
    e = _EXECUTIONS
    return [
        (str(ns), str(name))
        for ns, name in session.execute(
            select(e.c.namespace, e.c.name).distinct().order_by(e.c.namespace, e.c.name)
        )
    ]


def _pending_replays() -> CompoundSelect[Any]:
    """The ids of executions a queued or running replay needs: the one it replays
    (``replay_of``) and, for a deterministic replay, the one whose recording it uses."""
    e, w = _EXECUTIONS, _WORLDS
    replayed = select(e.c.replay_of).where(e.c.status.in_(PENDING), e.c.replay_of.is_not(None))
    recordings = (
        select(w.c.replay_source)
        .join(e, e.c.id == w.c.execution_id)
        .where(e.c.status.in_(PENDING), w.c.replay_source.is_not(None))
    )
    return replayed.union(recordings)


def prunable_query(
    namespace: str,
    name: str,
    *,
    keep_days: int | None,
    keep_last: int | None,
    now: datetime.datetime,
) -> Select[Any] | None:
    """The ids of ``namespace/name``'s executions that a policy of these limits lets go:
    finished, not named by a pending replay, and queued more than ``keep_days`` ago or not
    among the newest ``keep_last`` (either limit). ``None`` when neither limit is set."""
    e = _EXECUTIONS
    limits: list[ColumnElement[bool]] = []
    if keep_days is not None:
        limits.append(e.c.id < id_floor(now - datetime.timedelta(days=keep_days)))
    if keep_last is not None:
        # "The newest N runs" are runs of the function: shadow runs (runtree deploy --shadow)
        # do not take their places; those older than the Nth run go with the older runs.
        newest_kept = (
            select(e.c.id)
            .where(e.c.namespace == namespace, e.c.name == name, e.c.shadow_report_id.is_(None))
            .order_by(e.c.id.desc())
            .offset(keep_last - 1)
            .limit(1)
            .scalar_subquery()
        )
        limits.append(e.c.id < newest_kept)  # NULL (fewer runs than keep_last): none
    if not limits:
        return None
    return select(e.c.id).where(
        e.c.namespace == namespace,
        e.c.name == name,
        e.c.status.in_(_FINISHED),
        or_(*limits),
        e.c.id.not_in(_pending_replays()),
    )


def still_prunable(session: Session, execution_ids: Collection[str]) -> list[str]:
    """Those of ``execution_ids`` that still exist, are finished, and that no pending replay
    names (checked in the deleting transaction: things change between batches)."""
    e = _EXECUTIONS
    found: list[str] = []
    for chunk in chunks(sorted(execution_ids)):
        found.extend(
            session.scalars(
                select(e.c.id).where(
                    e.c.id.in_(chunk),
                    e.c.status.in_(_FINISHED),
                    e.c.id.not_in(_pending_replays()),
                )
            )
        )
    return found
