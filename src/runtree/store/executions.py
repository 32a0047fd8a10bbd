"""Executions: queueing, claiming, finishing, cancelling, listing, crash recovery.

Plain functions over an open :class:`~sqlalchemy.orm.Session` inside a *write* transaction
where they change anything (``BEGIN IMMEDIATE`` on SQLite, see :mod:`.engine`). Rows are
locked with ``SELECT ... FOR UPDATE`` before they change (SQLite ignores the clause; its
write lock already serializes writers), and every status change is guarded by the status it
expects, so one execution is never claimed twice nor finished twice.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Collection, Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from ..errors import InvalidDataError, NotFoundError
from ..models import (
    FINISHED_STATUSES,
    ExecutionRecord,
    ExecutionStatus,
    StepStatus,
    Trigger,
    VersionRecord,
)
from . import jobs, queueing
from .access import AuditEntry, append_audit
from .common import check_json, chunks, millis_between, table, to_ns
from .execution_rows import execution_record
from .ids import new_execution_id
from .schema import (
    ExecutionRow,
    PayloadRow,
    PrivateInputRow,
    StepRow,
    ValueHashRow,
    VersionRow,
    WorldRow,
)
from .sealed import open_json, seal_json
from .value_index import index_private_input
from .worlds import RECORD

_E = TypeVar("_E", Trigger, ExecutionStatus)


CANCELLED_ERROR = {"type": "Cancelled", "message": "cancelled before it started"}
CRASHED_ERROR = {
    "type": "Crashed",
    "message": "the runtree server stopped while this execution was running",
}

_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_FINISHED = [str(status) for status in FINISHED_STATUSES]


def enqueue_execution(
    session: Session,
    *,
    version: VersionRecord,
    trigger: str,
    input: Any,
    versions: Mapping[str, int],
    replay_of: str | None,
    now: datetime.datetime,
    private_input: Any = None,
    shadow_report_id: str | None = None,
    audit: AuditEntry | None = None,
) -> ExecutionRecord:
    """Insert a ``queued`` execution of ``version``. ``private_input``, when given, is the
    unredacted input: kept apart, and deleted when the execution ends. A shadow run (trigger
    ``shadow``) names its report in ``shadow_report_id``, and only a shadow run does.
    ``audit``, when given, is written with it (its target followed by the execution's id).

    With the job queue (PostgreSQL) the row, its job and the audit entry are one statement
    (:mod:`.queueing`); with neither ``replay_of`` nor ``private_input`` that is all this
    sends, so it may run in autocommit (:func:`queued_in_one_statement`)."""
    trigger_value = _enum(Trigger, "trigger", trigger)
    if (trigger_value is Trigger.SHADOW) != (shadow_report_id is not None):
        raise InvalidDataError("a shadow run (trigger shadow) needs its shadow_report_id")
    check_json("input", input)
    versions_doc = dict(versions)
    check_json("versions", versions_doc)
    one_statement = jobs.defers_jobs(session)
    if not one_statement and session.scalar(_VERSION_EXISTS, {"version_id": version.id}) is None:
        raise NotFoundError("version", f"{version.qualified_name} v{version.number}")
    if replay_of is not None and session.scalar(_STATUS, {"execution_id": replay_of}) is None:
        raise NotFoundError("execution", replay_of)
    values: dict[str, Any] = dict(
        id=new_execution_id(),
        function_id=version.function_id,
        version_id=version.id,
        namespace=version.namespace,
        name=version.name,
        version=version.number,
        trigger=str(trigger_value),
        status=ExecutionStatus.QUEUED.value,
        input=input,
        output=None,
        error=None,
        versions=versions_doc,
        queued_at=now,
        started_at=None,
        finished_at=None,
        duration_ms=None,
        cancel_requested=False,
        worker_id=None,
        replay_of=replay_of,
        shadow_report_id=shadow_report_id,
    )
    if one_statement:
        queue = jobs.queue_of(version.settings)
        if not queueing.insert_queued(session, values, queue, audit, now):
            raise NotFoundError("version", f"{version.qualified_name} v{version.number}")
    else:
        session.execute(_INSERT, values)
        if audit is not None:
            append_audit(session, audit.of_execution(values["id"]), now)
    if private_input is not None:
        check_json("private_input", private_input)
        sealed = seal_json(session, PRIVATE_INPUT_FIELD, private_input)
        session.add(PrivateInputRow(execution_id=values["id"], sealed_input=sealed))
        if isinstance(private_input, dict):
            index_private_input(session, values["id"], private_input)
    # The record straight from the values inserted: an ORM object only to read them back
    # cost a tenth of queueing.
    return execution_record(SimpleNamespace(**values))


def queued_in_one_statement(job_queue: bool, *, replay_of: str | None, private_input: Any) -> bool:
    """Whether :func:`enqueue_execution` sends one statement only (so its caller may run it
    in autocommit, without ``BEGIN`` and ``COMMIT``): with the job queue, and neither a
    replayed execution to check nor a private input to store."""
    return job_queue and replay_of is None and private_input is None


PRIVATE_INPUT_FIELD = "execution_private_inputs.sealed_input"


def private_input(session: Session, execution_id: str) -> Any:
    """The unredacted input of a not yet ended execution, or ``None``;
    :class:`~runtree.errors.SecretKeyError` when it cannot be opened."""
    row = session.get(PrivateInputRow, execution_id)
    return None if row is None else open_json(session, PRIVATE_INPUT_FIELD, row.sealed_input)


def _forget_private_inputs(session: Session, execution_ids: list[str]) -> None:
    if len(execution_ids) == 1:  # every end: no expanding IN list to render
        session.execute(_FORGET_PRIVATE_ONE, {"execution_id": execution_ids[0]})
        return
    for ids in chunks(execution_ids):
        session.execute(_FORGET_PRIVATE, {"execution_ids": list(ids)})


# Statements of the hot paths (queue, claim, finish), built once -- building a statement costs
# about as much as running it -- and on tables rather than ORM entities, whose machinery costs
# more than these statements do. Their parameters are bound by name.
_EXECUTIONS = table(ExecutionRow)
_VERSIONS = table(VersionRow)
_HAS_QUEUED = (
    select(_EXECUTIONS.c.id).where(_EXECUTIONS.c.status == ExecutionStatus.QUEUED.value).limit(1)
)
_COUNT_QUEUED = select(func.count()).where(_EXECUTIONS.c.status == ExecutionStatus.QUEUED.value)
_INSERT = insert(_EXECUTIONS)
_VERSION_EXISTS = select(_VERSIONS.c.id).where(_VERSIONS.c.id == bindparam("version_id"))
_NEXT_QUEUED = (
    select(_EXECUTIONS)
    .where(_EXECUTIONS.c.status == ExecutionStatus.QUEUED.value)
    .order_by(_EXECUTIONS.c.queued_at, _EXECUTIONS.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_START = (
    update(_EXECUTIONS)
    .where(
        _EXECUTIONS.c.id == bindparam("execution_id"),
        _EXECUTIONS.c.status == ExecutionStatus.QUEUED.value,
    )
    .values(
        status=ExecutionStatus.RUNNING.value,
        started_at=bindparam("new_started_at"),
        worker_id=bindparam("new_worker_id"),
    )
)
# A job's claim: _START, or -- run again after its answer was lost -- the claim it made
# (running, with this worker and this claim's own started_at): a retry recognises its own
# committed claim and nobody else's.
_CLAIM = (
    update(_EXECUTIONS)
    .where(
        _EXECUTIONS.c.id == bindparam("execution_id"),
        or_(
            _EXECUTIONS.c.status == ExecutionStatus.QUEUED.value,
            and_(
                _EXECUTIONS.c.status == ExecutionStatus.RUNNING.value,
                _EXECUTIONS.c.worker_id == bindparam("new_worker_id"),
                _EXECUTIONS.c.started_at == bindparam("new_started_at"),
            ),
        ),
    )
    .values(
        status=ExecutionStatus.RUNNING.value,
        started_at=bindparam("new_started_at"),
        worker_id=bindparam("new_worker_id"),
    )
    .returning(*_EXECUTIONS.c)
)
_LOCKED_ROW = (
    select(ExecutionRow).where(ExecutionRow.id == bindparam("execution_id")).with_for_update()
)
_LOCKED_VALUES = (
    select(_EXECUTIONS).where(_EXECUTIONS.c.id == bindparam("execution_id")).with_for_update()
)
_FINISH_VALUES: dict[str, Any] = {
    "status": bindparam("new_status"),
    "output": bindparam("new_output"),
    "error": bindparam("new_error"),
    "finished_at": bindparam("new_finished_at"),
    "duration_ms": bindparam("new_duration_ms"),
}
_FINISH = (
    update(_EXECUTIONS).where(_EXECUTIONS.c.id == bindparam("execution_id")).values(_FINISH_VALUES)
)
_STATUS = select(_EXECUTIONS.c.status).where(_EXECUTIONS.c.id == bindparam("execution_id"))
_LOCKED_STATUS = _STATUS.with_for_update()
_PRIVATE_INPUTS = table(PrivateInputRow)
_FORGET_PRIVATE = delete(_PRIVATE_INPUTS).where(
    _PRIVATE_INPUTS.c.execution_id.in_(bindparam("execution_ids", expanding=True))
)
_FORGET_PRIVATE_ONE = delete(_PRIVATE_INPUTS).where(
    _PRIVATE_INPUTS.c.execution_id == bindparam("execution_id")
)
_STEPS = table(StepRow)
_NOW_NS = bindparam("now_ns", type_=BigInteger)
_INTERRUPT_VALUES = {
    "status": StepStatus.INTERRUPTED.value,
    "duration_ns": func.coalesce(
        _STEPS.c.duration_ns,
        case(
            (_STEPS.c.started_at_ns < _NOW_NS, _NOW_NS - _STEPS.c.started_at_ns),
            else_=literal(0, BigInteger),
        ),
    ),
}
_RUNNING_STEP = _STEPS.c.status == StepStatus.RUNNING.value
_INTERRUPT_ONE = (
    update(_STEPS)
    .where(_STEPS.c.execution_id == bindparam("of_execution"), _RUNNING_STEP)
    .values(_INTERRUPT_VALUES)
)
_INTERRUPT_MANY = (
    update(_STEPS)
    .where(_STEPS.c.execution_id.in_(bindparam("of_executions", expanding=True)), _RUNNING_STEP)
    .values(_INTERRUPT_VALUES)
)

# PostgreSQL with the job queue: an end in one statement -- the execution's row, its steps still
# running interrupted, its private input forgotten, its announcement (at commit) -- where four
# took four round trips. Parameters: of_execution, _FINISH's new_*, now_ns, channel, payload;
# none may be named like a column of these tables (an UPDATE sets the columns its execution
# parameters name: "execution_id" would move the steps).
_FINISH_ANNOUNCED = (
    update(_EXECUTIONS)
    .where(_EXECUTIONS.c.id == bindparam("of_execution"))
    .values(_FINISH_VALUES)
    .add_cte(
        _INTERRUPT_ONE.cte("interrupted"),
        delete(_PRIVATE_INPUTS)
        .where(_PRIVATE_INPUTS.c.execution_id == bindparam("of_execution"))
        .cte("forgotten"),
    )
    .returning(func.pg_notify(bindparam("channel"), bindparam("payload")))
)


def has_queued(session: Session) -> bool:
    """Whether any execution is queued (a cheap read, to skip taking the write lock)."""
    return session.scalar(_HAS_QUEUED) is not None


def count_queued(session: Session) -> int:
    """How many executions are queued (an index-only count: ``ix_executions_status_queued_at``)."""
    return int(session.scalar(_COUNT_QUEUED) or 0)


def claim_next_execution(
    session: Session, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """Move the oldest queued execution to ``running`` for ``worker_id``; ``None`` if none.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent claimers pass each other's rows.
    SQLite: the transaction holds the write lock from its first statement.
    """
    for _ in range(3):
        row = session.execute(_NEXT_QUEUED).first()
        if row is None:
            return None
        if _start(session, row.id, worker_id, now):
            return _started(execution_record(row), worker_id, now)
    return None  # pragma: no cover - only if the guard kept failing, which locks prevent


def claim_next(
    session: Session, worker_id: str, now: datetime.datetime
) -> tuple[ExecutionRecord | None, bool]:
    """:func:`claim_next_execution`, and whether other executions are still queued."""
    record = claim_next_execution(session, worker_id, now)
    return record, record is not None and has_queued(session)


def claim_execution(
    session: Session, execution_id: str, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """Move this execution to ``running`` if it is still queued; else ``None``. Its waiting
    job, if any, is deleted with it (it runs here, not from the queue)."""
    row = _locked_values(session, execution_id)
    if row.status != ExecutionStatus.QUEUED or not _start(session, row.id, worker_id, now):
        return None
    if jobs.defers_jobs(session):
        jobs.cancel(session, execution_id, abort=False)
    return _started(execution_record(row), worker_id, now)


def claim_for_job(
    session: Session, execution_id: str, worker_id: str, now: datetime.datetime
) -> ExecutionRecord | None:
    """:func:`claim_execution` by the worker running the execution's job (which keeps its
    job): one guarded ``UPDATE ... RETURNING``, atomic on its own, so it needs no
    transaction around it. Raises :class:`NotFoundError` for an unknown id.

    Idempotent for one claim, ``(worker_id, now)``: run again with the same values after
    its answer was lost, it finds the execution it already moved to ``running`` and returns
    it again; an execution claimed by any other claim (another worker, or another ``now``)
    gives ``None``."""
    row = session.execute(
        _CLAIM, {"execution_id": execution_id, "new_started_at": now, "new_worker_id": worker_id}
    ).first()
    if row is not None:
        return execution_record(row)
    if session.scalar(_STATUS, {"execution_id": execution_id}) is None:
        raise NotFoundError("execution", execution_id)
    return None  # no longer queued: cancelled, or claimed already


def requeue_execution(
    session: Session, execution_id: str, worker_id: str | None, now: datetime.datetime
) -> bool:
    """Put a ``running`` execution back in the queue to run again from the start: its steps
    of this attempt are deleted, and on PostgreSQL a new job is deferred unless
    ``worker_id`` is ``None`` (the caller retries the execution's own job). Only when it
    still runs on ``worker_id`` (if given): whether it was requeued.

    Everything of the attempt goes with its steps: their value-index rows (the next attempt
    indexes its own steps under the same step ids) and the recording of the outside world it
    streamed (a deterministic replay's planned row stays: it says what the run replays)."""
    row = _locked(session, execution_id)
    if row.status != ExecutionStatus.RUNNING or (
        worker_id is not None and row.worker_id != worker_id
    ):
        return False
    session.execute(delete(ValueHashRow).where(ValueHashRow.execution_id == execution_id))
    session.execute(
        delete(WorldRow).where(WorldRow.execution_id == execution_id, WorldRow.mode == RECORD)
    )
    session.execute(delete(PayloadRow).where(PayloadRow.execution_id == execution_id))
    session.execute(delete(StepRow).where(StepRow.execution_id == execution_id))
    row.status = ExecutionStatus.QUEUED.value
    row.started_at = None
    row.worker_id = None
    row.cancel_requested = False
    session.flush()
    if worker_id is not None and jobs.defers_jobs(session):
        settings = session.scalar(
            select(VersionRow.settings).where(VersionRow.id == row.version_id)
        )
        jobs.defer(session, execution_id, jobs.queue_of(settings))
    return True


def _start(session: Session, execution_id: str, worker_id: str, now: datetime.datetime) -> bool:
    result = session.execute(
        _START, {"execution_id": execution_id, "new_started_at": now, "new_worker_id": worker_id}
    )
    return _rowcount(result) == 1


def _started(record: ExecutionRecord, worker_id: str, now: datetime.datetime) -> ExecutionRecord:
    """``record`` as the guarded update in :func:`_start` left it (not read back)."""
    return dataclasses.replace(
        record, status=ExecutionStatus.RUNNING, started_at=now, worker_id=worker_id
    )


def finish_execution(
    session: Session,
    execution_id: str,
    *,
    status: str,
    output: Any,
    error: Any,
    now: datetime.datetime,
    row: Any = None,
) -> ExecutionRecord:
    """Record the end of an execution unless it has already ended (then it is returned
    unchanged). Its steps still ``running`` become ``interrupted``. ``row``: the execution's
    row as :func:`locked_row` returned it in this transaction (else it is locked here)."""
    status_value = _enum(ExecutionStatus, "status", status)
    if not status_value.finished:
        raise InvalidDataError(f"status must be a finished status, got {status!r}")
    check_json("output", output)
    check_json("error", error)
    record = execution_record(_locked_values(session, execution_id) if row is None else row)
    if record.status in _FINISHED:
        return record
    started = record.started_at
    duration = None if started is None else millis_between(started, now)
    values = {
        "new_status": status_value.value,
        "new_output": output,
        "new_error": error,
        "new_finished_at": now,
        "new_duration_ms": duration,
    }
    ended = dataclasses.replace(
        record,
        status=status_value,
        output=output,
        error=error,
        finished_at=now,
        duration_ms=duration,
    )
    if jobs.defers_jobs(session):
        # Servers waiting for it hear it, and its end, at commit (jobs.announcement); with
        # its running steps interrupted and its private input forgotten, one statement.
        more = {"of_execution": execution_id, "now_ns": to_ns(now)}
        session.execute(_FINISH_ANNOUNCED, {**values, **more, **jobs.announcement(ended)})
        return ended
    session.execute(_FINISH, {"execution_id": execution_id, **values})
    interrupt_running_steps(session, [execution_id], now)
    _forget_private_inputs(session, [execution_id])
    return ended


def _finish(
    row: ExecutionRow,
    status: ExecutionStatus,
    *,
    output: Any,
    error: Any,
    now: datetime.datetime,
) -> None:
    row.status = status.value
    row.output = output
    row.error = error
    row.finished_at = now
    row.duration_ms = None if row.started_at is None else millis_between(row.started_at, now)


def request_cancel(session: Session, execution_id: str, now: datetime.datetime) -> ExecutionRecord:
    """Cancel a queued execution at once; flag a running one (``cancel_requested``) for its
    worker to stop; leave a finished one as it is."""
    row = _locked(session, execution_id)
    if row.status == ExecutionStatus.QUEUED:
        row.cancel_requested = True
        _finish(row, ExecutionStatus.CANCELLED, output=None, error=dict(CANCELLED_ERROR), now=now)
        _forget_private_inputs(session, [row.id])
        if jobs.defers_jobs(session):
            jobs.cancel(session, execution_id, abort=False)
    elif row.status == ExecutionStatus.RUNNING:
        row.cancel_requested = True
        if jobs.defers_jobs(session):  # its worker, wherever it is, hears it at commit
            jobs.cancel(session, execution_id, abort=True)
    session.flush()
    return execution_record(row)


def recover(
    session: Session, worker_ids: Collection[str] | None, now: datetime.datetime
) -> tuple[int, int, int]:
    """Mark ``running`` executions (of ``worker_ids``, or all) ``crashed`` and their running
    steps ``interrupted``. Returns ``(crashed, interrupted_steps, still_queued)``."""
    stmt = select(ExecutionRow).where(ExecutionRow.status == ExecutionStatus.RUNNING.value)
    if worker_ids is not None:
        stmt = stmt.where(ExecutionRow.worker_id.in_(list(worker_ids)))
    rows = list(session.scalars(stmt.with_for_update()))
    for row in rows:
        _finish(row, ExecutionStatus.CRASHED, output=None, error=dict(CRASHED_ERROR), now=now)
    interrupted = interrupt_running_steps(session, [row.id for row in rows], now)
    _forget_private_inputs(session, [row.id for row in rows])
    session.flush()
    queued = session.scalar(
        select(func.count())
        .select_from(ExecutionRow)
        .where(ExecutionRow.status == ExecutionStatus.QUEUED.value)
    )
    return len(rows), interrupted, int(queued or 0)


def interrupt_running_steps(
    session: Session, execution_ids: list[str], now: datetime.datetime
) -> int:
    """Mark the ``running`` steps of these executions ``interrupted``, with their duration up
    to ``now`` when they have none. Returns how many steps changed."""
    now_ns = to_ns(now)
    if len(execution_ids) == 1:
        result = session.execute(
            _INTERRUPT_ONE, {"of_execution": execution_ids[0], "now_ns": now_ns}
        )
        return _rowcount(result)
    changed = 0
    for ids in chunks(execution_ids):
        result = session.execute(_INTERRUPT_MANY, {"of_executions": list(ids), "now_ns": now_ns})
        changed += _rowcount(result)
    return changed


def get_execution(session: Session, execution_id: str) -> ExecutionRecord | None:
    """The execution, or ``None``."""
    row = session.get(ExecutionRow, execution_id)
    return None if row is None else execution_record(row)


def execution_status(session: Session, execution_id: str, *, lock: bool) -> ExecutionStatus:
    """The status of an execution (locking its row when ``lock``); raises NotFoundError."""
    status = session.scalar(_LOCKED_STATUS if lock else _STATUS, {"execution_id": execution_id})
    if status is None:
        raise NotFoundError("execution", execution_id)
    return ExecutionStatus(status)


def locked_row(session: Session, execution_id: str) -> Any:
    """The execution's row as plain column values (a Core row), locked until the end of the
    transaction; raises :class:`NotFoundError`."""
    return _locked_values(session, execution_id)


def _locked_values(session: Session, execution_id: str) -> Any:
    """The execution's row as plain column values (a Core row), locked."""
    row = session.execute(_LOCKED_VALUES, {"execution_id": execution_id}).first()
    if row is None:
        raise NotFoundError("execution", execution_id)
    return row


def _locked(session: Session, execution_id: str) -> ExecutionRow:
    row = session.scalars(_LOCKED_ROW, {"execution_id": execution_id}).first()
    if row is None:
        raise NotFoundError("execution", execution_id)
    return row


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _enum(kind: type[_E], field: str, value: object) -> _E:
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    allowed = ", ".join(member.value for member in kind)
    raise InvalidDataError(f"{field} must be one of {allowed}; got {value!r}")


def get_executions(session: Session, execution_ids: Collection[str]) -> dict[str, ExecutionRecord]:
    """The executions among ``execution_ids`` that exist, by id (one query per 500 ids)."""
    found: dict[str, ExecutionRecord] = {}
    for chunk in chunks(sorted(set(execution_ids))):
        for row in session.scalars(select(ExecutionRow).where(ExecutionRow.id.in_(chunk))):
            found[row.id] = execution_record(row)
    return found


def list_replays(session: Session, original: ExecutionRecord, limit: int) -> list[ExecutionRecord]:
    """Executions started as replays of ``original``, newest first (at most ``limit``);
    shadow runs are not replays a user started and are left out.

    Replays run the same function, so the query narrows by function first, where the
    executions table has an index."""
    stmt = (
        select(ExecutionRow)
        .where(
            ExecutionRow.namespace == original.namespace,
            ExecutionRow.name == original.name,
            ExecutionRow.replay_of == original.id,
            ExecutionRow.shadow_report_id.is_(None),
        )
        .order_by(ExecutionRow.id.desc())
        .limit(limit)
    )
    return [execution_record(row) for row in session.scalars(stmt)]


WORKER_LOST_ERROR = {
    "type": "WorkerLost",
    "message": "the worker running this execution stopped sending heartbeats (killed, or its "
    "machine is gone)",
}


def settle_lost_job(session: Session, job_id: int, now: datetime.datetime, backoff_s: float) -> str:
    """Settle the job of a worker found dead (no heartbeat), exactly once however many
    processes try (the job's row is locked): what became of its execution --

    * ``queued`` (the worker died before claiming it): the job waits again, at once;
    * ``retried``: it ran, and its version allows ``retries`` more than the job's attempts so
      far: back to ``queued`` (its steps deleted), the job runnable again after
      ``backoff_s * 2**attempts`` seconds (Procrastinate's retry);
    * ``crashed``: it ran and may not be retried: it ends ``crashed`` ("worker lost");
    * ``finished``: it had ended already (the worker died after finishing it);
    * ``gone``: the job was settled meanwhile.
    """
    job = jobs.locked_job(session, job_id)
    if job is None or job[0] != "doing":
        return "gone"
    _, attempts, execution_id = job
    row = None if execution_id is None else session.get(ExecutionRow, execution_id)
    if row is not None:
        session.refresh(row, with_for_update=True)
    if row is None or row.status in _FINISHED:
        jobs.finish(session, job_id, "succeeded" if row is not None else "failed")
        return "finished"
    if row.status == ExecutionStatus.QUEUED:
        jobs.retry(session, job_id, now)
        return "queued"
    settings = session.scalar(select(VersionRow.settings).where(VersionRow.id == row.version_id))
    allowed = settings.get("retries", 0) if isinstance(settings, dict) else 0
    if isinstance(allowed, int) and attempts < allowed:
        requeue_execution(session, row.id, None, now)
        jobs.retry(session, job_id, now + datetime.timedelta(seconds=backoff_s * 2**attempts))
        return "retried"
    finish_execution(
        session,
        row.id,
        status=ExecutionStatus.CRASHED.value,
        output=None,
        error=dict(WORKER_LOST_ERROR),
        now=now,
    )
    jobs.finish(session, job_id, "failed")
    return "crashed"
