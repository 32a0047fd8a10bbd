"""Functions and their versions: deploying, looking up, listing.

Plain functions over an open :class:`~sqlalchemy.orm.Session` inside a transaction; the
:class:`~runtree.store.Store` owns the transactions and retries.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from ..errors import InvalidDataError, NotFoundError
from ..models import ExecutionStatus, FunctionRecord, VersionRecord
from .common import check_identifier, check_json, chunks, table, upsert_insert
from .schema import ExecutionRow, FunctionRow, RunCountRow, StepRow, VersionRow


def deploy_version(
    session: Session,
    namespace: str,
    name: str,
    *,
    source: str,
    settings: Mapping[str, Any],
    sha256: str,
    warnings: Sequence[Any],
    dependencies: Sequence[Any],
    signature: Any,
    description: str | None,
    created_by: str | None,
    now: datetime.datetime,
    make_current: bool = True,
) -> tuple[VersionRecord, bool]:
    """Create the function if needed, then a new version unless the latest one has the same
    ``sha256``. Returns ``(version, created)``. The version becomes the function's current
    one when ``make_current`` (else it is only stored, for a shadow replay) -- and always
    when the function had none.

    Two concurrent callers may both try the same next number: the loser gets an
    ``IntegrityError`` from the ``(function_id, number)`` unique constraint and must retry the
    whole transaction (the Store does).
    """
    check_identifier("namespace", namespace)
    check_identifier("name", name)
    if not isinstance(sha256, str) or not sha256:
        raise InvalidDataError("sha256 must be a non-empty string")
    settings_doc = dict(settings)
    warnings_doc = list(warnings)
    dependencies_doc = list(dependencies)
    for field, value in (
        ("settings", settings_doc),
        ("warnings", warnings_doc),
        ("dependencies", dependencies_doc),
        ("signature", signature),
    ):
        check_json(field, value)

    function = _get_or_create_function(session, namespace, name, description, now)
    latest = session.scalars(
        select(VersionRow)
        .where(VersionRow.function_id == function.id)
        .order_by(VersionRow.number.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.sha256 == sha256:
        if make_current or function.current_version is None:
            function.current_version = latest.number
        return version_record(latest, function), False
    row = VersionRow(
        function_id=function.id,
        number=1 if latest is None else latest.number + 1,
        sha256=sha256,
        source=source,
        settings=settings_doc,
        warnings=warnings_doc,
        dependencies=dependencies_doc,
        signature=signature,
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    if make_current or function.current_version is None:
        function.current_version = row.number
    return version_record(row, function), True


def set_current_version(session: Session, namespace: str, name: str, number: int) -> int | None:
    """Make version ``number`` the function's current one; returns the previous current
    number. :class:`NotFoundError` for an unknown function or version."""
    function = session.scalars(
        select(FunctionRow)
        .where(FunctionRow.namespace == namespace, FunctionRow.name == name)
        .with_for_update()
    ).first()
    if function is None:
        raise NotFoundError("function", f"{namespace}/{name}")
    exists = session.scalar(
        select(VersionRow.id).where(
            VersionRow.function_id == function.id, VersionRow.number == number
        )
    )
    if exists is None:
        raise NotFoundError("version", f"{namespace}/{name} v{number}")
    previous = function.current_version
    function.current_version = number
    session.flush()
    return previous


def _get_or_create_function(
    session: Session, namespace: str, name: str, description: str | None, now: datetime.datetime
) -> FunctionRow:
    insert = upsert_insert(session, table(FunctionRow))
    session.execute(
        insert.values(
            namespace=namespace, name=name, description=description, created_at=now
        ).on_conflict_do_nothing(index_elements=["namespace", "name"])
    )
    function = session.scalars(
        select(FunctionRow).where(FunctionRow.namespace == namespace, FunctionRow.name == name)
    ).one()
    if description is not None and function.description != description:
        function.description = description
    return function


def get_function(session: Session, namespace: str, name: str) -> FunctionRecord | None:
    """One function with its summary, or ``None`` (one statement)."""
    stmt = _functions_query().where(FunctionRow.namespace == namespace, FunctionRow.name == name)
    row = session.execute(stmt, {"cap": STEP_COUNT_CAP}).first()
    return None if row is None else _function_record(*row)


def list_functions(session: Session, namespace: str | None) -> list[FunctionRecord]:
    """All functions (of one namespace, if given), by namespace then name: one statement,
    however many functions there are (the summaries and step counts are its subqueries)."""
    stmt = _functions_query().order_by(FunctionRow.namespace, FunctionRow.name)
    if namespace is not None:
        stmt = stmt.where(FunctionRow.namespace == namespace)
    return [_function_record(*row) for row in session.execute(stmt, {"cap": STEP_COUNT_CAP})]


# Counting stops here: the count reads one index entry per call, and a recursive function
# can have millions of them (1,000,000 took 0.3 s on SQLite); past the cap it says "10,000+".
STEP_COUNT_CAP = 10_000

# Shadow runs (``runtree deploy --shadow``) are not runs of a function: every summary here
# leaves them out. Few executions are shadow runs, and an index finds them.
_SHADOW_RUN_IDS = select(ExecutionRow.id).where(ExecutionRow.shadow_report_id.is_not(None))

_FunctionsQuery = Select[FunctionRow, int | None, int | None, str | None, str | None, int | None]


@functools.cache  # statements are immutable; building this one cost more than running it
def _functions_query() -> _FunctionsQuery:
    """Each function with its latest version number, run count, last run (id and status) and
    step count; the statement takes the step count's cap as the parameter ``cap``."""
    latest = (
        select(VersionRow.function_id, func.max(VersionRow.number).label("number"))
        .group_by(VersionRow.function_id)
        .subquery()
    )
    # The run counters (migration 0014), not a count over every execution: flat in the
    # number of executions.
    runs = (
        select(VersionRow.function_id, func.sum(RunCountRow.count).label("runs"))
        .join(RunCountRow, RunCountRow.version_id == VersionRow.id)
        .group_by(VersionRow.function_id)
        .subquery()
    )
    # The last run: the first entry of a backward walk of the (function_id, id) index from
    # this function's end; the join below keeps it only if it is this function's (else the
    # function has no run). Not "function_id = this ORDER BY id DESC": PostgreSQL planned
    # that, for any function, as a backward walk of the primary key over every newer
    # execution of the others (1.9 ms for a function with old runs at 10,000 executions,
    # growing with them), as the ordering by function_id is dropped once it is fixed.
    newest = (
        select(ExecutionRow.id)
        .where(ExecutionRow.function_id <= FunctionRow.id, ExecutionRow.shadow_report_id.is_(None))
        .order_by(ExecutionRow.function_id.desc(), ExecutionRow.id.desc())
        .limit(1)
        .correlate(FunctionRow)
        .scalar_subquery()
    )
    # Its recorded calls as a step of a run (of another function, or its own recursion):
    # steps named like it, of its code, that have a parent -- at most ``cap``, through the
    # partial index on (function, name). A subquery of each function's row, not a statement
    # per function: a listing is one round trip to the database whatever its length.
    calls = (
        select(StepRow.id)
        .where(
            StepRow.function == FunctionRow.namespace.concat("/").concat(FunctionRow.name),
            StepRow.name == FunctionRow.name,
            StepRow.parent_id.is_not(None),
            StepRow.execution_id.not_in(_SHADOW_RUN_IDS),
        )
        .limit(bindparam("cap", type_=Integer))
        .correlate(FunctionRow)
        .subquery()
    )
    step_count = select(func.count()).select_from(calls).correlate(FunctionRow).scalar_subquery()
    last = aliased(ExecutionRow)
    return (
        select(FunctionRow, latest.c.number, runs.c.runs, last.id, last.status, step_count)
        .outerjoin(latest, latest.c.function_id == FunctionRow.id)
        .outerjoin(runs, runs.c.function_id == FunctionRow.id)
        .outerjoin(last, and_(last.id == newest, last.function_id == FunctionRow.id))
    )


def _function_record(
    row: FunctionRow,
    latest: int | None,
    runs: int | None,
    last_id: str | None,
    last_status: str | None,
    step_count: int | None,
) -> FunctionRecord:
    return FunctionRecord(
        id=row.id,
        namespace=row.namespace,
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        current_version=row.current_version,
        latest_version=latest,
        run_count=int(runs or 0),  # PostgreSQL sums to a Decimal
        last_execution_id=last_id,
        last_status=None if last_status is None else ExecutionStatus(last_status),
        step_count=int(step_count or 0),
    )


def _versions_query() -> Select[VersionRow, FunctionRow]:
    return select(VersionRow, FunctionRow).join(
        FunctionRow, FunctionRow.id == VersionRow.function_id
    )


def list_versions(session: Session, namespace: str, name: str) -> list[VersionRecord]:
    """Every version of a function, oldest first (``[]`` for an unknown function)."""
    stmt = (
        _versions_query()
        .where(FunctionRow.namespace == namespace, FunctionRow.name == name)
        .order_by(VersionRow.number)
    )
    return [version_record(version, function) for version, function in session.execute(stmt)]


# The lookups every execution makes, built once (building a statement costs about as much as
# running it) and on tables rather than ORM entities; parameters are bound by name.
_VERSIONS = table(VersionRow)
_FUNCTIONS = table(FunctionRow)
_VERSION_VALUES = select(_VERSIONS, _FUNCTIONS.c.namespace, _FUNCTIONS.c.name).join(
    _FUNCTIONS, _FUNCTIONS.c.id == _VERSIONS.c.function_id
)
_FUNCTION_VERSIONS = _VERSION_VALUES.where(
    _FUNCTIONS.c.namespace == bindparam("namespace"), _FUNCTIONS.c.name == bindparam("name")
)
_CURRENT_VERSION = _FUNCTION_VERSIONS.where(_VERSIONS.c.number == _FUNCTIONS.c.current_version)
_VERSION_NUMBER = _FUNCTION_VERSIONS.where(_VERSIONS.c.number == bindparam("number"))
_VERSIONS_BY_NUMBERS = _VERSION_VALUES.where(
    _FUNCTIONS.c.namespace == bindparam("namespace"),
    tuple_(_FUNCTIONS.c.name, _VERSIONS.c.number).in_(bindparam("pairs", expanding=True)),
)


def _version_of(row: Any) -> VersionRecord:
    """The record of a row of ``_VERSION_VALUES`` (a version's columns, its function's
    namespace and name)."""
    return VersionRecord(
        id=row.id,
        function_id=row.function_id,
        namespace=row.namespace,
        name=row.name,
        number=row.number,
        sha256=row.sha256,
        source=row.source,
        settings=row.settings,
        warnings=row.warnings,
        dependencies=row.dependencies,
        signature=row.signature,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def get_version(
    session: Session, namespace: str, name: str, number: int | None
) -> VersionRecord | None:
    """Version ``number`` of a function (the current one when ``None``), or ``None``."""
    params: dict[str, Any] = {"namespace": namespace, "name": name}
    if number is None:
        stmt = _CURRENT_VERSION
    else:
        stmt = _VERSION_NUMBER
        params["number"] = number
    row = session.execute(stmt, params).first()
    return None if row is None else _version_of(row)


def get_version_by_id(session: Session, version_id: int) -> VersionRecord | None:
    """The version with this database id, or ``None``."""
    row = session.execute(_versions_query().where(VersionRow.id == version_id)).first()
    return None if row is None else version_record(*row)


# Pairs of (name, number) per query in get_versions: two bound parameters each.
_PAIRS_PER_QUERY = 200


def get_versions(
    session: Session, namespace: str, numbers: Mapping[str, int]
) -> dict[str, VersionRecord]:
    """Version ``numbers[name]`` of each named function of ``namespace``, by name (those that
    do not exist are left out)."""
    found: dict[str, VersionRecord] = {}
    for pairs in chunks(list(numbers.items()), _PAIRS_PER_QUERY):
        rows = session.execute(_VERSIONS_BY_NUMBERS, {"namespace": namespace, "pairs": list(pairs)})
        for row in rows:
            found[row.name] = _version_of(row)
    return found


def current_versions(session: Session, namespace: str) -> dict[str, VersionRecord]:
    """The current version of every function in ``namespace``, by function name."""
    stmt = (
        _versions_query()
        .where(
            FunctionRow.namespace == namespace,
            VersionRow.number == FunctionRow.current_version,
        )
        .order_by(FunctionRow.name)
    )
    return {
        function.name: version_record(version, function)
        for version, function in session.execute(stmt)
    }


def current_version_numbers(session: Session, namespace: str) -> dict[str, tuple[int, list[Any]]]:
    """``(number, dependencies)`` of the current version of every function in ``namespace``,
    by function name (no sources read)."""
    stmt = (
        select(FunctionRow.name, VersionRow.number, VersionRow.dependencies)
        .join(FunctionRow, FunctionRow.id == VersionRow.function_id)
        .where(
            FunctionRow.namespace == namespace,
            VersionRow.number == FunctionRow.current_version,
        )
        .order_by(FunctionRow.name)
    )
    return {
        name: (number, list(dependencies or []))
        for name, number, dependencies in session.execute(stmt)
    }


def version_record(row: VersionRow, function: FunctionRow) -> VersionRecord:
    """The plain record of a version row."""
    return VersionRecord(
        id=row.id,
        function_id=row.function_id,
        namespace=function.namespace,
        name=function.name,
        number=row.number,
        sha256=row.sha256,
        source=row.source,
        settings=row.settings,
        warnings=row.warnings,
        dependencies=row.dependencies,
        signature=row.signature,
        created_at=row.created_at,
        created_by=row.created_by,
    )
