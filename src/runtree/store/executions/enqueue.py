"""Queueing an execution: its ``queued`` row, with its audit entry, its job (PostgreSQL) and
its private input."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from ...errors import InvalidDataError, NotFoundError
from ...models import ExecutionRecord, ExecutionStatus, Trigger, VersionRecord
from .. import jobs, queueing
from ..access import AuditEntry, append_audit
from ..common import check_enum, check_json, table
from ..execution_rows import execution_record
from ..ids import new_execution_id
from ..schema import ExecutionRow, VersionRow
from .lookup import STATUS
from .private_inputs import keep_private_input

_VERSIONS = table(VersionRow)
_INSERT = insert(table(ExecutionRow))
_VERSION_EXISTS = select(_VERSIONS.c.id).where(_VERSIONS.c.id == bindparam("version_id"))


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
    (:mod:`..queueing`); with neither ``replay_of`` nor ``private_input`` that is all this
    sends, so it may run in autocommit (:func:`queued_in_one_statement`)."""
    trigger_value = check_enum(Trigger, "trigger", trigger)
    if (trigger_value is Trigger.SHADOW) != (shadow_report_id is not None):
        raise InvalidDataError("a shadow run (trigger shadow) needs its shadow_report_id")
    check_json("input", input)
    versions_doc = dict(versions)
    check_json("versions", versions_doc)
    one_statement = jobs.defers_jobs(session)
    if not one_statement and session.scalar(_VERSION_EXISTS, {"version_id": version.id}) is None:
        raise NotFoundError("version", f"{version.qualified_name} v{version.number}")
    if replay_of is not None and session.scalar(STATUS, {"execution_id": replay_of}) is None:
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
        keep_private_input(session, values["id"], private_input)
    # The record straight from the values inserted: an ORM object only to read them back
    # cost a tenth of queueing.
    return execution_record(SimpleNamespace(**values))


def queued_in_one_statement(job_queue: bool, *, replay_of: str | None, private_input: Any) -> bool:
    """Whether :func:`enqueue_execution` sends one statement only (so its caller may run it
    in autocommit, without ``BEGIN`` and ``COMMIT``): with the job queue, and neither a
    replayed execution to check nor a private input to store."""
    return job_queue and replay_of is None and private_input is None
