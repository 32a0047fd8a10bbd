"""Finding the executions that handled a value, through the value index (:mod:`.value_index`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidDataError
from ..models import ExecutionRecord
from .common import ID_PATTERN, check_limit
from .execution_rows import execution_record
from .schema import ExecutionRow, StepRow, ValueHashRow
from .value_index import query_digests


def find_value(
    session: Session,
    value: str,
    *,
    key: str | None,
    namespace: str | None,
    name: str | None,
    limit: int,
    cursor: str | None,
    include_shadow: bool = False,
) -> tuple[list[tuple[ExecutionRecord, list[dict[str, Any]]]], str | None]:
    """One page of the executions that handled ``value`` (newest first), each with the
    steps that did (``{"step_id", "kind", "key", "name", "function"}``: the step's qualified
    name and ``namespace/name`` function, ``None`` for step 0, the execution's own input),
    and the next page's cursor (``None`` on the last page). ``key`` restricts to values found
    under that name (exact, case-sensitive); ``namespace``/``name`` to one function. Shadow
    runs (trigger ``shadow``) only with ``include_shadow``."""
    check_limit(limit)
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidDataError("key must be 1 to 200 characters")
    if cursor is not None and (not isinstance(cursor, str) or not ID_PATTERN.fullmatch(cursor)):
        raise InvalidDataError(f"invalid cursor {cursor!r}")
    digests = query_digests(session, value)
    hits = select(ValueHashRow.execution_id).where(ValueHashRow.digest.in_(digests))
    if key is not None:
        hits = hits.where(ValueHashRow.key == key)
    stmt = select(ExecutionRow).where(ExecutionRow.id.in_(hits))
    if namespace is not None:
        stmt = stmt.where(ExecutionRow.namespace == namespace)
    if name is not None:
        stmt = stmt.where(ExecutionRow.name == name)
    if not include_shadow:
        stmt = stmt.where(ExecutionRow.shadow_report_id.is_(None))
    if cursor is not None:
        stmt = stmt.where(ExecutionRow.id < cursor)
    executions = list(session.scalars(stmt.order_by(ExecutionRow.id.desc()).limit(limit + 1)))
    next_cursor = executions[limit - 1].id if len(executions) > limit else None
    executions = executions[:limit]
    steps: dict[str, list[dict[str, Any]]] = {row.id: [] for row in executions}
    if executions:
        where = (
            select(
                ValueHashRow.execution_id,
                ValueHashRow.step_id,
                ValueHashRow.kind,
                ValueHashRow.key,
                StepRow.name,
                StepRow.function,
            )
            .outerjoin(
                StepRow,
                (StepRow.execution_id == ValueHashRow.execution_id)
                & (StepRow.id == ValueHashRow.step_id),
            )
            .where(ValueHashRow.digest.in_(digests), ValueHashRow.execution_id.in_(list(steps)))
        )
        if key is not None:
            where = where.where(ValueHashRow.key == key)
        seen: set[tuple[Any, ...]] = set()
        for execution_id, step_id, kind, found_under, step_name, function in session.execute(
            where.order_by(ValueHashRow.execution_id, ValueHashRow.step_id, ValueHashRow.kind)
        ):
            if (execution_id, step_id, kind, found_under) not in seen:
                seen.add((execution_id, step_id, kind, found_under))
                steps[execution_id].append(
                    {
                        "step_id": step_id,
                        "kind": kind,
                        "key": found_under,
                        "name": step_name,
                        "function": function,
                    }
                )
    return [(execution_record(row), steps[row.id]) for row in executions], next_cursor
