"""The job queue on PostgreSQL: Procrastinate's jobs, written in the store's own transactions.

On PostgreSQL every execution is also a Procrastinate job (task :data:`TASK`, arguments
``{"execution_id": ...}``) in the queue its version is pinned to. The job is written by
Procrastinate's own versioned SQL functions (``procrastinate_defer_jobs_v1``,
``procrastinate_cancel_job_v1``, ``procrastinate_retry_job_v2``,
``procrastinate_finish_job_v1`` -- the interface its connectors call) inside the transaction
that changes the execution, so a job exists exactly when its execution is queued: nothing is
enqueued that was not stored, nothing stored is left without a job.

Each job's ``lock`` and ``queueing_lock`` are its execution's id: Procrastinate never runs two
jobs with one lock at once and never holds two waiting ones, so an execution cannot be taken
by two workers even if it were deferred twice. SQLite has no jobs: its queue is the
executions table itself (:mod:`.executions`).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..models import ExecutionRecord
from .end_notice import notice_payload

TASK = "runtree.run_execution"
# LISTEN/NOTIFY channel: every execution that ended, its id and, when it fits, its end
# (servers wake waiting requests; :mod:`.end_notice`).
FINISHED_CHANNEL = "runtree_finished"
DEFAULT_QUEUE = "default"
# ``session.info`` key: the store opened this session's database with the job queue on.
DEFER_JOBS = "runtree.defer_jobs"

# Finding an execution's job (by its lock) without scanning finished jobs.
LOCK_INDEX = (
    "CREATE INDEX IF NOT EXISTS runtree_jobs_lock_idx ON procrastinate_jobs (lock) "
    "WHERE status IN ('todo', 'doing')"
)

DROP_PROCRASTINATE = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
    procrastinate_workers CASCADE;
DO $$
DECLARE routine record;
BEGIN
    FOR routine IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%%'
    LOOP
        EXECUTE 'DROP ROUTINE IF EXISTS ' || routine.signature || ' CASCADE';
    END LOOP;
END;
$$;
DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
    procrastinate_job_status CASCADE;
"""

# Procrastinate's own call that writes one job (its ids); parameters: job_params().
DEFER_CALL = (
    "procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, :lock, "
    "CAST(:args AS jsonb), CAST(:at AS timestamptz))::procrastinate_job_to_defer_v1])"
)
_DEFER = text(f"SELECT unnest({DEFER_CALL})")
_JOB_OF = text(
    "SELECT id FROM procrastinate_jobs WHERE lock = :lock AND status IN ('todo', 'doing') "
    "ORDER BY id DESC LIMIT 1"
)
# Deletes a waiting job; asks the worker of a running one to abort (NOTIFY reaches it).
_CANCEL = text("SELECT procrastinate_cancel_job_v1(:job_id, :abort, true)")
_LOCKED_JOB = text(
    "SELECT id, status, attempts, args FROM procrastinate_jobs WHERE id = :job_id FOR UPDATE"
)
_RETRY = text("SELECT procrastinate_retry_job_v2(:job_id, :at, NULL, NULL, NULL)")
_FINISH = text(
    "SELECT procrastinate_finish_job_v1(:job_id, CAST(:status AS procrastinate_job_status), true)"
)
_DEPTHS = text(
    "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing') GROUP BY queue_name, status"
)


def procrastinate_schema() -> str:
    """The schema of the installed Procrastinate (3.x), ready for a driver call without
    parameters (its ``%`` signs escaped as Procrastinate's own schema manager does)."""
    from procrastinate.schema import SchemaManager

    return SchemaManager.get_schema().replace("%", "%%")


def queue_of(settings: Any) -> str:
    """The queue a version's settings pin it to (``default`` when none)."""
    if isinstance(settings, str):  # JSON read through a bare connection (migrations)
        settings = json.loads(settings)
    queue = settings.get("queue") if isinstance(settings, dict) else None
    return queue if isinstance(queue, str) and queue else DEFAULT_QUEUE


def defers_jobs(session: Session) -> bool:
    """Whether this session's store uses the job queue (PostgreSQL, see :class:`~.Store`)."""
    return bool(session.info.get(DEFER_JOBS))


def defer(
    bind: Session | Connection,
    execution_id: str,
    queue: str,
    *,
    at: datetime.datetime | None = None,
) -> int:
    """Queue the job of ``execution_id`` in ``queue`` (runnable from ``at``, default now) in
    the caller's transaction; its id."""
    return int(bind.execute(_DEFER, job_params(execution_id, queue, at)).scalar_one())


def job_params(
    execution_id: str, queue: str, at: datetime.datetime | None = None
) -> dict[str, Any]:
    """The parameters of :data:`DEFER_CALL` for the job of ``execution_id`` in ``queue``,
    runnable from ``at`` (``None``: at once). The job's lock is the execution's id: never
    two running jobs of one execution."""
    args = json.dumps({"execution_id": execution_id})
    return {"queue": queue, "task": TASK, "lock": execution_id, "args": args, "at": at}


def job_of(session: Session, execution_id: str) -> int | None:
    """The waiting or running job of an execution, if it has one."""
    found = session.execute(_JOB_OF, {"lock": execution_id}).scalar()
    return None if found is None else int(found)


def cancel(session: Session, execution_id: str, *, abort: bool) -> None:
    """Delete the execution's waiting job; with ``abort``, also ask the worker running its job
    to stop (Procrastinate notifies it through LISTEN/NOTIFY at commit)."""
    job_id = job_of(session, execution_id)
    if job_id is not None:
        session.execute(_CANCEL, {"job_id": job_id, "abort": abort})


def locked_job(session: Session, job_id: int) -> tuple[str, int, str | None] | None:
    """``(status, attempts, execution_id)`` of a job, its row locked; ``None`` if gone."""
    row = session.execute(_LOCKED_JOB, {"job_id": job_id}).first()
    if row is None:
        return None
    args = row.args if isinstance(row.args, dict) else json.loads(row.args)
    execution_id = args.get("execution_id")
    return (
        str(row.status),
        int(row.attempts),
        execution_id if isinstance(execution_id, str) else None,
    )


def retry(session: Session, job_id: int, at: datetime.datetime) -> None:
    """Put a running job back in its queue, runnable from ``at`` (its attempts counted)."""
    session.execute(_RETRY, {"job_id": job_id, "at": at})


def finish(session: Session, job_id: int, status: str) -> None:
    """End a waiting or running job (``succeeded``, ``failed`` or ``aborted``): deleted, as
    every finished job is (the execution keeps the record)."""
    session.execute(_FINISH, {"job_id": job_id, "status": status})


def queue_depths(session: Session) -> dict[str, tuple[int, int]]:
    """``{queue: (waiting, running)}`` over the jobs of every queue that has any."""
    depths: dict[str, tuple[int, int]] = {}
    for queue, status, count in session.execute(_DEPTHS):
        waiting, running = depths.get(queue, (0, 0))
        if status == "todo":
            waiting += int(count)
        else:
            running += int(count)
        depths[queue] = (waiting, running)
    return depths


def has_queue(session: Session) -> bool:
    """Whether Procrastinate's schema is in this database."""
    return session.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None


def announcement(record: ExecutionRecord) -> dict[str, str]:
    """``channel`` and ``payload``: the ``pg_notify`` call by which the transaction storing
    the end of ``record`` tells every listening server, at commit, that it ended and how
    (:func:`.end_notice.notice_payload`)."""
    return {"channel": FINISHED_CHANNEL, "payload": notice_payload(record)}
