"""Read-only queries for exploring what ran: filtered and searched execution listings, step
outlines (steps without their payloads), paged children, and the raw numbers behind
per-version statistics.

Plain functions over an open :class:`~sqlalchemy.orm.Session` in a read transaction; every
one is additive to :mod:`.executions` and :mod:`.steps` and changes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session, aliased

from ..errors import InvalidDataError
from ..models import (
    FINISHED_STATUSES,
    ExecutionRecord,
    ExecutionStatus,
    StepStatus,
    StepSummary,
    StepTiming,
    Trigger,
)
from .common import ID_PATTERN, check_enum, check_limit, chunks, stored_json
from .execution_rows import execution_record
from .input_search import input_matches, input_matches_unindexed
from .schema import ExecutionRow, FunctionRow, RunCountRow, StepRow, VersionRow

# Longest accepted search text (it becomes a LIKE pattern).
MAX_SEARCH_LENGTH = 200
# Most steps one call of step_summaries returns when no limit is given (a whole outline;
# pages are limited further by the service's MAX_STEP_PAGE).
MAX_STEPS_READ = 100_000

_FINISHED = sorted(str(status) for status in FINISHED_STATUSES)
_STATUSES = {status.value: status for status in StepStatus}

_SUMMARY_COLUMNS = (
    StepRow.id,
    StepRow.parent_id,
    StepRow.sequence,
    StepRow.depth,
    StepRow.name,
    StepRow.filename,
    StepRow.lineno,
    StepRow.function,
    StepRow.version,
    StepRow.status,
    StepRow.started_at_ns,
    StepRow.duration_ns,
    # JSON columns as their text: most are "[]" or NULL, which need no JSON decoder.
    cast(StepRow.error, Text),
    func.length(StepRow.stdout).label("stdout_size"),
    StepRow.stdout_truncated,
    cast(StepRow.warnings, Text),
    cast(StepRow.aggregates, Text),
    cast(StepRow.generator, Text),
    cast(StepRow.extra, Text),  # NULL but for steps with keys the store does not know (I/O)
)


def id_bound(moment: datetime.datetime) -> str:
    """The smallest execution id that can be created at ``moment`` or later (ids are UUIDv7:
    their first 48 bits are the Unix time in milliseconds, see :mod:`.ids`)."""
    if moment.tzinfo is None:
        raise InvalidDataError("naive datetime: give a time zone")
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    millis = (moment - epoch) // datetime.timedelta(milliseconds=1)
    millis = min(max(millis, 0), (1 << 48) - 1)
    return f"{millis:012x}" + "0" * 20


def search_executions(
    session: Session,
    *,
    namespace: str | None,
    name: str | None,
    version: int | None,
    status: str | None,
    trigger: str | None,
    since: datetime.datetime | None,
    until: datetime.datetime | None,
    text: str | None,
    limit: int,
    cursor: str | None,
    include_shadow: bool = False,
    shadow_report_id: str | None = None,
) -> tuple[list[ExecutionRecord], str | None]:
    """One page of executions, newest first, and the cursor of the next page (``None`` on the
    last page; opaque to callers: the last id of the page). Filtered by function
    (``namespace``, ``name``), ``version`` number, ``status``, ``trigger``, creation time
    (``since`` inclusive, ``until`` exclusive, to the millisecond) and ``text`` found in the
    input (see :func:`.input_search.search_fragments`; indexed); every filter is optional.
    The one listing query: ``Store.list_executions`` is this without the time and text
    filters.

    Shadow runs are left out unless ``include_shadow``, ``trigger="shadow"`` or
    ``shadow_report_id`` (only the runs of that shadow report) asks for them."""
    check_limit(limit)
    stmt = select(ExecutionRow)
    if shadow_report_id is not None:
        stmt = stmt.where(ExecutionRow.shadow_report_id == shadow_report_id)
    elif not include_shadow and trigger != Trigger.SHADOW.value:
        stmt = stmt.where(ExecutionRow.shadow_report_id.is_(None))
    if namespace is not None:
        stmt = stmt.where(ExecutionRow.namespace == namespace)
    if name is not None:
        stmt = stmt.where(ExecutionRow.name == name)
    if version is not None:
        stmt = stmt.where(ExecutionRow.version == version)
    if status is not None:
        stmt = stmt.where(
            ExecutionRow.status == check_enum(ExecutionStatus, "status", status).value
        )
    if trigger is not None:
        stmt = stmt.where(ExecutionRow.trigger == check_enum(Trigger, "trigger", trigger).value)
    if since is not None:
        stmt = stmt.where(ExecutionRow.id >= id_bound(since))
    if until is not None:
        stmt = stmt.where(ExecutionRow.id < id_bound(until))
    if cursor is not None:
        if not isinstance(cursor, str) or not ID_PATTERN.fullmatch(cursor):
            raise InvalidDataError(f"invalid cursor {cursor!r}")
        stmt = stmt.where(ExecutionRow.id < cursor)
    rows: list[ExecutionRow] | None = None
    if text is not None and text.strip():
        if len(text) > MAX_SEARCH_LENGTH:
            raise InvalidDataError(f"search text is longer than {MAX_SEARCH_LENGTH} characters")
        rows = _newest_matches(session, stmt, text.strip(), limit)
        if rows is None:
            stmt = stmt.where(input_matches(session, text.strip()))
    if rows is None:
        rows = list(session.scalars(stmt.order_by(ExecutionRow.id.desc()).limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return [execution_record(row) for row in rows[:limit]], next_cursor


# How many of the newest executions (of the other filters) a search checks before it reads
# the input index: a common value (in a third of the inputs, say) has a page of matches among
# them, while the index would hand over every match to be sorted.
SEARCH_PROBE = 1_000


def _newest_matches(
    session: Session, stmt: Select[ExecutionRow], search: str, limit: int
) -> list[ExecutionRow] | None:
    """The first ``limit + 1`` matches of ``search`` among the newest :data:`SEARCH_PROBE`
    executions ``stmt`` selects (newest first), or ``None`` when there are fewer there. Any
    match outside them is older than all of them, so when they hold ``limit + 1`` matches
    these are the first ``limit + 1`` of the whole search."""
    # A subquery with a LIMIT is read as such: the check runs on its rows only (a plain
    # "id IN (newest ids) AND check" let PostgreSQL check every execution instead).
    newest = aliased(
        ExecutionRow,
        stmt.order_by(ExecutionRow.id.desc()).limit(SEARCH_PROBE).subquery("newest"),
    )
    rows = list(
        session.scalars(
            select(newest)
            .where(input_matches_unindexed(session, search, newest.input))
            .order_by(newest.id.desc())
            .limit(limit + 1)
        )
    )
    return rows if len(rows) > limit else None


def step_summaries(
    session: Session,
    execution_id: str,
    *,
    parent_id: int | None = None,
    roots: bool = False,
    after: int | None = None,
    limit: int | None = None,
) -> list[StepSummary]:
    """Steps of an execution in sequence order without payloads or printed output: all of
    them, the children of ``parent_id``, or (``roots``) those without a parent; only those
    after sequence number ``after``; at most ``limit``."""
    stmt = select(*_SUMMARY_COLUMNS).where(StepRow.execution_id == execution_id)
    if roots:
        stmt = stmt.where(StepRow.parent_id.is_(None))
    elif parent_id is not None:
        stmt = stmt.where(StepRow.parent_id == parent_id)
    if after is not None:
        stmt = stmt.where(StepRow.sequence > after)
    stmt = stmt.order_by(StepRow.sequence, StepRow.id).limit(
        MAX_STEPS_READ if limit is None else limit
    )
    return [_summary(execution_id, tuple(row)) for row in session.execute(stmt)]


def _summary(execution_id: str, row: tuple[Any, ...]) -> StepSummary:
    (
        step_id,
        parent_id,
        sequence,
        depth,
        name,
        filename,
        lineno,
        function,
        version,
        status,
        started,
        duration,
        error,
        stdout_size,
        stdout_truncated,
        warnings,
        aggregates,
        generator,
        extra,
    ) = row
    more = stored_json(extra)
    io = more.get("io") if isinstance(more, dict) and more.get("kind") == "io" else None
    return StepSummary(
        execution_id=execution_id,
        id=step_id,
        parent_id=parent_id,
        sequence=sequence,
        depth=depth,
        name=name,
        filename=filename,
        lineno=lineno,
        function=function,
        version=version,
        status=_STATUSES[status],
        started_at_ns=started,
        duration_ns=duration,
        error=stored_json(error),
        stdout_size=int(stdout_size or 0),
        stdout_truncated=bool(stdout_truncated),
        warnings=list(stored_json(warnings) or ()),
        aggregates=list(stored_json(aggregates) or ()),
        generator=stored_json(generator),
        io=io if isinstance(io, dict) else None,
    )


def child_counts(session: Session, execution_id: str, parent_ids: Sequence[int]) -> dict[int, int]:
    """How many steps each of ``parent_ids`` has as direct children (absent: none)."""
    counts: dict[int, int] = {}
    for ids in chunks(list(parent_ids)):
        rows = session.execute(
            select(StepRow.parent_id, func.count())
            .where(StepRow.execution_id == execution_id, StepRow.parent_id.in_(ids))
            .group_by(StepRow.parent_id)
        )
        counts.update({parent: int(count) for parent, count in rows if parent is not None})
    return counts


def version_status_counts(session: Session, namespace: str, name: str) -> dict[int, dict[str, int]]:
    """For each version number of a function that has executions: how many there are in each
    status (shadow runs left out, as in every statistic below), from the run counters
    (migration 0014): flat in the number of executions."""
    rows = session.execute(
        select(VersionRow.number, RunCountRow.status, RunCountRow.count)
        .join(RunCountRow, RunCountRow.version_id == VersionRow.id)
        .join(FunctionRow, FunctionRow.id == VersionRow.function_id)
        .where(FunctionRow.namespace == namespace, FunctionRow.name == name, RunCountRow.count > 0)
    )
    counts: dict[int, dict[str, int]] = {}
    for version, status, count in rows:
        counts.setdefault(int(version), {})[str(status)] = int(count)
    return counts


def recent_durations(
    session: Session, namespace: str, name: str, version: int, limit: int
) -> list[int]:
    """``duration_ms`` of the newest ``limit`` finished executions of one version that ran
    (newest first)."""
    rows = session.scalars(
        select(ExecutionRow.duration_ms)
        .where(
            ExecutionRow.namespace == namespace,
            ExecutionRow.name == name,
            ExecutionRow.version == version,
            ExecutionRow.status.in_(_FINISHED),
            ExecutionRow.duration_ms.is_not(None),
            ExecutionRow.shadow_report_id.is_(None),
        )
        .order_by(ExecutionRow.id.desc())
        .limit(limit)
    )
    return [int(duration) for duration in rows if duration is not None]


def recent_execution_ids(
    session: Session, namespace: str, name: str, version: int, limit: int
) -> list[str]:
    """Ids of the newest ``limit`` finished executions of one version that ran."""
    return list(
        session.scalars(
            select(ExecutionRow.id)
            .where(
                ExecutionRow.namespace == namespace,
                ExecutionRow.name == name,
                ExecutionRow.version == version,
                ExecutionRow.status.in_(_FINISHED),
                ExecutionRow.started_at.is_not(None),
                ExecutionRow.shadow_report_id.is_(None),
            )
            .order_by(ExecutionRow.id.desc())
            .limit(limit)
        )
    )


def step_timings(session: Session, execution_ids: Sequence[str]) -> list[StepTiming]:
    """The timing of every step of these executions (by execution, then sequence)."""
    timings: list[StepTiming] = []
    for ids in chunks(list(execution_ids)):
        rows = session.execute(
            select(
                StepRow.execution_id,
                StepRow.id,
                StepRow.parent_id,
                StepRow.name,
                StepRow.function,
                StepRow.status,
                StepRow.started_at_ns,
                StepRow.duration_ns,
            )
            .where(StepRow.execution_id.in_(ids))
            .order_by(StepRow.execution_id, StepRow.sequence)
        )
        timings.extend(
            StepTiming(
                execution_id=row[0],
                id=row[1],
                parent_id=row[2],
                name=row[3],
                function=row[4],
                status=StepStatus(row[5]),
                started_at_ns=row[6],
                duration_ns=row[7],
            )
            for row in rows
        )
    return timings


def capped_step_counts(session: Session, execution_ids: Sequence[str], cap: int) -> dict[str, int]:
    """How many steps each of these executions has, counting at most ``cap`` of each (one
    statement; an index-only count through the primary key, bounded by ``cap``). Executions
    that do not exist are left out."""
    counted = (
        select(StepRow.id)
        .where(StepRow.execution_id == ExecutionRow.id)
        .limit(cap)
        .correlate(ExecutionRow)
        .subquery()
    )
    count = select(func.count()).select_from(counted).correlate(ExecutionRow).scalar_subquery()
    rows = session.execute(
        select(ExecutionRow.id, count).where(ExecutionRow.id.in_(list(execution_ids)))
    )
    return {str(execution_id): int(steps) for execution_id, steps in rows}


def within_budget(execution_ids: Sequence[str], steps: dict[str, int], budget: int) -> list[str]:
    """The first of ``execution_ids``, then each next one while the total of their ``steps``
    (missing: none) stays within ``budget``: the executions :func:`step_timings` should read."""
    chosen: list[str] = []
    total = 0
    for execution_id in execution_ids:
        count = steps.get(execution_id, 0)
        if chosen and total + count > budget:
            break
        chosen.append(execution_id)
        total += count
    return chosen
