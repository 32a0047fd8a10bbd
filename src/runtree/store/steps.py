"""Steps: bulk upsert of step batches streamed by workers, and reading them back.

A worker sends a step when it starts (``running``) and again when it ends; batches hold
hundreds of steps, so :func:`save_steps` uses one statement per kind of work (a bulk ``INSERT
... ON CONFLICT DO UPDATE`` for steps, a bulk ``DELETE`` and ``INSERT`` for payloads), all in
the caller's transaction. Small captured values travel inside the step row (see
:mod:`.step_codec`); only large ones are payload rows.

Which version of a step wins: the later one, except that a ``running`` step never replaces
a finished one (completed, failed, interrupted), whether stored earlier or earlier in the same
batch; and once the execution has finished, a step arriving as ``running`` is stored as
``interrupted``. So a finished execution never shows running steps, whatever order messages
arrive in. The execution row is locked while a batch is written, so batches of one execution
are applied one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import JSON, Text, bindparam, cast, delete, insert, select
from sqlalchemy.orm import Session

from ..errors import InvalidDataError
from ..models import ExecutionStatus, PayloadKind, StepRecord, StepStatus
from .common import chunks, stored_json, table, upsert_insert
from .executions import execution_status
from .schema import PayloadRow, StepRow
from .step_codec import EncodedStep, decode_step, encode_step, from_inline
from .value_index import index_payloads

_RUNNING = StepStatus.RUNNING.value
T = TypeVar("T")
_STEP_KEY = ("execution_id", "id")

_PAYLOAD_COLUMNS = (
    PayloadRow.step_id,
    PayloadRow.kind,
    PayloadRow.name,
    PayloadRow.position,
    PayloadRow.preview,
    PayloadRow.size,
    PayloadRow.format,
    PayloadRow.truncated,
    PayloadRow.redacted,
    PayloadRow.sha256,
    PayloadRow.warning,
    PayloadRow.value_type,
    PayloadRow.length,
)


def save_steps(
    session: Session,
    execution_id: str,
    steps: Iterable[Mapping[str, Any]],
    *,
    locked_status: ExecutionStatus | None = None,
) -> int:
    """Upsert a batch of step dicts (see the module docstring for which version wins).

    Returns how many steps were written. Raises :class:`NotFoundError` for an unknown
    execution and :class:`InvalidDataError` for a malformed step (nothing is written then).
    ``locked_status``: the execution's status, when the caller has locked its row in this
    transaction already (else it is locked here).
    """
    if locked_status is None:
        locked_status = execution_status(session, execution_id, lock=True)
    finished = locked_status.finished
    batch: dict[int, EncodedStep] = {}
    for data in steps:
        step = encode_step(execution_id, data)
        previous = batch.get(step.id)
        if previous is not None and step.status == _RUNNING and previous.status != _RUNNING:
            continue
        batch[step.id] = step
    if not batch:
        return 0
    if finished:
        for step in batch.values():
            if step.status == _RUNNING:
                step.status = step.row["status"] = StepStatus.INTERRUPTED.value

    existing = _existing_statuses(session, execution_id, list(batch))
    winners = [
        step
        for step in batch.values()
        if not (step.status == _RUNNING and existing.get(step.id, _RUNNING) != _RUNNING)
    ]
    if not winners:
        return 0
    replaced = [step.id for step in winners if step.id in existing]
    for ids in chunks(replaced):
        session.execute(
            delete(PayloadRow)
            .where(PayloadRow.execution_id == execution_id, PayloadRow.step_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    session.execute(_step_upsert(session), [step.row for step in winners])
    payloads = [payload for step in winners for payload in step.payloads]
    if payloads:
        session.execute(insert(table(PayloadRow)), payloads)
    index_payloads(
        session,
        execution_id,
        replaced,  # a step stored for the first time has no index rows to replace
        [value for step in winners for value in step.values],
        [entry for step in winners for entry in step.hidden],
    )
    return len(winners)


# The steps upsert of each dialect: built once (building ``excluded`` costs more than running
# the statement on a short batch).
_UPSERTS: dict[str, Any] = {}


def _step_upsert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    upsert = _UPSERTS.get(dialect)
    if upsert is None:
        steps_table = table(StepRow)
        insert_ = upsert_insert(session, steps_table)
        upsert = _UPSERTS[dialect] = insert_.on_conflict_do_update(
            index_elements=list(_STEP_KEY),
            set_={
                column.name: insert_.excluded[column.name]
                for column in steps_table.columns
                if column.name not in _STEP_KEY
            },
        )
    return upsert


_STEPS = table(StepRow)
_EXISTING = select(_STEPS.c.id, _STEPS.c.status).where(
    _STEPS.c.execution_id == bindparam("execution_id"),
    _STEPS.c.id.in_(bindparam("ids", expanding=True)),
)
_EXISTING_ONE = select(_STEPS.c.status).where(
    _STEPS.c.execution_id == bindparam("execution_id"), _STEPS.c.id == bindparam("id")
)


def _existing_statuses(session: Session, execution_id: str, ids: list[int]) -> dict[int, str]:
    if len(ids) == 1:  # the last batch of a small run: no expanding IN list to render
        status = session.scalar(_EXISTING_ONE, {"execution_id": execution_id, "id": ids[0]})
        return {} if status is None else {ids[0]: status}
    found: dict[int, str] = {}
    for chunk in chunks(ids):
        rows = session.execute(_EXISTING, {"execution_id": execution_id, "ids": list(chunk)})
        found.update({step_id: status for step_id, status in rows})
    return found


def get_steps(session: Session, execution_id: str, *, include_blobs: bool) -> list[StepRecord]:
    """All steps of an execution in sequence order (``[]`` if none or unknown)."""
    return map_steps(session, execution_id, _same, include_blobs=include_blobs)


def _same(step: StepRecord) -> StepRecord:
    return step


def map_steps(
    session: Session,
    execution_id: str,
    convert: Callable[[StepRecord], T],
    *,
    include_blobs: bool,
) -> list[T]:
    """``[convert(step) for step in get_steps(...)]``, each step converted as soon as it is
    read: only what ``convert`` returns outlives the loop. (The objects of 10,000 steps alive
    at once, rows, records and their values, made the garbage collector walk the whole heap
    several times while they were built.)"""
    by_step: dict[int, list[Mapping[Any, Any]]] = {}
    for payload in _payloads(session, execution_id, None, include_blobs):
        by_step.setdefault(payload["step_id"], []).append(payload)
    result = session.connection().execute(
        select(*_STEP_COLUMNS)
        .where(StepRow.execution_id == execution_id)
        .order_by(StepRow.sequence, StepRow.id)
    )
    names = tuple(result.keys())
    json_columns = _json_columns(names)
    id_at = names.index("id")
    return [
        convert(
            decode_step(
                execution_id,
                _step_row(names, json_columns, values),
                by_step.get(values[id_at], ()),
                blobs=include_blobs,
            )
        )
        # A thousand rows at a time: the rows of the whole execution are not held at once.
        for rows in result.partitions(1000)
        for values in rows
    ]


def get_step(
    session: Session, execution_id: str, step_id: int, *, include_blobs: bool
) -> StepRecord | None:
    """One step of an execution, or ``None``."""
    result = session.connection().execute(
        select(*_STEP_COLUMNS).where(StepRow.execution_id == execution_id, StepRow.id == step_id)
    )
    names = tuple(result.keys())
    values = result.first()
    if values is None:
        return None
    row = _step_row(names, _json_columns(names), values)
    payloads = _payloads(session, execution_id, step_id, include_blobs)
    return decode_step(execution_id, row, payloads, blobs=include_blobs)


# A step's columns, its JSON ones as their text: most are "[]" or NULL, which need no JSON
# parser (reading 10,000 steps spent most of its time in the JSON type's result processing).
_JSON_COLUMNS = frozenset(column.name for column in _STEPS.columns if isinstance(column.type, JSON))
_STEP_COLUMNS = tuple(
    cast(column, Text).label(column.name) if column.name in _JSON_COLUMNS else column
    for column in _STEPS.columns
)


def _json_columns(names: tuple[str, ...]) -> list[tuple[int, str]]:
    return [(index, name) for index, name in enumerate(names) if name in _JSON_COLUMNS]


def _step_row(
    names: tuple[str, ...], json_columns: list[tuple[int, str]], values: Sequence[Any]
) -> dict[str, Any]:
    """A row of a select of :data:`_STEP_COLUMNS` as a dict, its JSON columns parsed. (Rows
    are read as plain tuples: a SQLAlchemy ``RowMapping`` builds its key view on every
    access, which cost more than the rest of reading 10,000 steps.)"""
    row = dict(zip(names, values, strict=True))
    for index, name in json_columns:
        row[name] = stored_json(values[index])
    return row


def _payloads(
    session: Session, execution_id: str, step_id: int | None, include_blobs: bool
) -> list[dict[str, Any]]:
    columns = (*_PAYLOAD_COLUMNS, PayloadRow.blob) if include_blobs else _PAYLOAD_COLUMNS
    stmt = select(*columns).where(PayloadRow.execution_id == execution_id)
    if step_id is not None:
        stmt = stmt.where(PayloadRow.step_id == step_id)
    stmt = stmt.order_by(PayloadRow.step_id, PayloadRow.kind, PayloadRow.position)
    result = session.connection().execute(stmt)
    names = tuple(result.keys())
    return [dict(zip(names, values, strict=True)) for values in result.all()]


def get_step_blob(
    session: Session, execution_id: str, step_id: int, kind: str, name: str
) -> bytes | None:
    """The serialized original of one captured value, or ``None`` when there is none."""
    if kind not in PayloadKind.__members__.values():
        allowed = ", ".join(k.value for k in PayloadKind)
        raise InvalidDataError(f"kind must be one of {allowed}; got {kind!r}")
    blob = session.scalar(
        select(PayloadRow.blob).where(
            PayloadRow.execution_id == execution_id,
            PayloadRow.step_id == step_id,
            PayloadRow.kind == kind,
            PayloadRow.name == name,
        )
    )
    if blob is not None:
        return bytes(blob)
    inline_values = session.scalar(
        select(StepRow.payloads).where(StepRow.execution_id == execution_id, StepRow.id == step_id)
    )
    for entry in inline_values or ():
        value = from_inline(entry)
        if value["kind"] == kind and value["name"] == name:
            return value["blob"]  # type: ignore[no-any-return]
    return None
