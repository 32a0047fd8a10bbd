"""Queueing an execution on PostgreSQL with the job queue in one statement: its row, its
Procrastinate job and its audit entry.

One ``INSERT ... SELECT ... WHERE EXISTS (the version)`` with two more data-modifying parts
in its ``WITH`` clause, each fed by the row the insert returned: the job (Procrastinate's
``procrastinate_defer_jobs_v1``, as :func:`.jobs.defer` calls it) and the audit entry. A
statement changes all or nothing, so the guarantees of one transaction hold -- nothing is
enqueued that was not stored, no execution is stored without its job or its audit entry --
and if the version was deleted meanwhile, nothing at all is written. Run in autocommit (see
:meth:`~.database.Database.one_statement`) it is one round trip to PostgreSQL where a
transaction took six (``BEGIN``, the version check, the row, the job, the audit entry,
``COMMIT``).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, insert, literal_column, select, text
from sqlalchemy.orm import Session

from .access import AuditEntry
from .common import check_json, table
from .jobs import DEFER_CALL, job_params
from .schema import AuditRow, ExecutionRow, VersionRow

_EXECUTIONS = table(ExecutionRow)
_AUDIT = table(AuditRow)
_VERSIONS = table(VersionRow)
_AUDIT_COLUMNS = ("at", "actor", "action", "target", "namespace", "details")
_DEFER = text(f"{DEFER_CALL} AS job_ids")  # the job, as jobs.defer writes it


def _statement(audited: bool) -> Select[Any]:
    """The statement (built once for each shape: building costs about what running does).
    Its parameters: every column of the execution (by name), the job's
    (:func:`.jobs.job_params`), and with ``audited`` the audit entry's columns prefixed
    ``audit_``. It returns the new execution's id, or no row when the version is gone."""
    columns = list(_EXECUTIONS.c)
    version_id = bindparam("version_id", type_=_EXECUTIONS.c.version_id.type)
    row = select(
        *(
            version_id if c.name == "version_id" else bindparam(c.name, type_=c.type)
            for c in columns
        )
    ).where(exists().where(_VERSIONS.c.id == version_id))
    queued = (
        insert(_EXECUTIONS)
        .from_select([c.name for c in columns], row)
        .returning(_EXECUTIONS.c.id)
        .cte("queued")
    )
    job = select(_DEFER).select_from(queued).cte("job")
    # The job's part is a query, run only as far as the outer query reads it: read it.
    deferred = select(literal_column("job_ids")).select_from(job).scalar_subquery()
    statement = select(queued.c.id, deferred)
    if audited:
        entry = select(
            *(bindparam(f"audit_{name}", type_=_AUDIT.c[name].type) for name in _AUDIT_COLUMNS)
        ).select_from(queued)
        audit = insert(_AUDIT).from_select(list(_AUDIT_COLUMNS), entry).cte("audited")
        statement = statement.add_cte(audit)  # a data-modifying part runs unread
    return statement


_QUEUE = {False: _statement(False), True: _statement(True)}


def insert_queued(
    session: Session,
    values: dict[str, Any],
    queue: str,
    audit: AuditEntry | None,
    now: datetime.datetime,
) -> bool:
    """Insert the execution row ``values`` (every column), defer its job in ``queue`` and
    write ``audit`` (its target followed by the execution's id, at ``now``), in one
    statement. False, with nothing written, when the version is gone."""
    execution_id = values["id"]
    params = {**values, **job_params(execution_id, queue)}
    if audit is not None:
        check_json("details", audit.details)
        entry = audit.of_execution(execution_id)
        params.update(
            audit_at=now,
            audit_actor=entry.actor,
            audit_action=entry.action,
            audit_target=entry.target,
            audit_namespace=entry.namespace,
            audit_details=dict(entry.details),
        )
    row = session.execute(_QUEUE[audit is not None], params).first()
    return row is not None
