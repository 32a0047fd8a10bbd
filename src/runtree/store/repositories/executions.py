"""Executions (queueing, claiming, finishing, cancelling, recovering): a repository of
the :class:`~runtree.store.Store`."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ...errors import InvalidDataError
from ...models import (
    ExecutionRecord,
    ExecutionStatus,
    RecoveryReport,
    VersionRecord,
)
from .. import executions, queries, worlds
from ..common import utcnow
from ..database import Database, disconnected
from ..steps import save_steps as _save_steps

# How long an execution's end (and a job's claim, and a batch of steps) is retried while the
# database cannot be reached (a PostgreSQL restart): each is idempotent -- the first end
# stands, a claim finds itself again -- so retrying is safe.
FINISH_RECONNECT_S = 60.0

log = logging.getLogger("runtree.execution")


class ExecutionRepository:
    """Executions: queueing, claiming, finishing, cancelling, recovering."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def enqueue_execution(
        self,
        *,
        version: VersionRecord,
        trigger: str,
        input: Any,
        versions: Mapping[str, int],
        replay_of: str | None = None,
        private_input: Any = None,
    ) -> ExecutionRecord:
        """Queue a run of ``version``. ``trigger`` is a :class:`~runtree.models.Trigger`
        value; ``input`` must be JSON (the copy everyone reads); ``versions`` maps function
        names to the version numbers resolved for this run; ``replay_of`` names the execution
        being replayed; ``private_input`` is the unredacted input when ``input`` had secrets
        redacted: kept only until the execution ends (see :meth:`private_input`)."""
        now = utcnow()
        return self._db.write(
            lambda session: executions.enqueue_execution(
                session,
                version=version,
                trigger=trigger,
                input=input,
                versions=versions,
                replay_of=replay_of,
                now=now,
                private_input=private_input,
            )
        )

    def private_input(self, execution_id: str) -> Any:
        """The unredacted input of an execution that has not ended, if it had one."""
        return self._db.one_statement(lambda s: executions.private_input(s, execution_id))

    def claim_next_execution(self, worker_id: str) -> ExecutionRecord | None:
        """Atomically move the oldest queued execution to ``running`` (setting
        ``started_at`` and ``worker_id``) and return it; ``None`` when the queue is empty.
        Concurrent claimers, in any process, never receive the same execution.

        Polling an empty queue is a plain read: it takes no write lock."""
        return self.claim_next(worker_id)[0]

    def count_queued(self) -> int:
        """How many executions are queued (a cheap read, for the queue-depth metric)."""
        with self._db.reading() as session:
            return executions.count_queued(session)

    def claim_next(
        self, worker_id: str, *, expect_queued: bool = False
    ) -> tuple[ExecutionRecord | None, bool]:
        """:meth:`claim_next_execution`, and whether other executions were still queued
        after the one claimed (a hint to look again at once rather than wait).

        With ``expect_queued`` (the caller was just told an execution was queued) the
        read-only look at the queue is skipped: the write transaction looks at once."""
        if not expect_queued:
            with self._db.reading() as session:
                if not executions.has_queued(session):
                    return None, False
        now = utcnow()
        return self._db.write(lambda s: executions.claim_next(s, worker_id, now))

    def claim_execution(
        self,
        execution_id: str,
        worker_id: str,
        *,
        from_job: bool = False,
        at: datetime.datetime | None = None,
    ) -> ExecutionRecord | None:
        """Claim one specific execution if it is still queued; ``None`` if it is not (already
        claimed, cancelled ...). Raises :class:`NotFoundError` for an unknown id. Unless the
        caller runs the execution's job (``from_job``: a queue worker), its waiting job is
        deleted in the same transaction (the CLI running it here).

        A job's claim is retried for :data:`FINISH_RECONNECT_S` while the database cannot be
        reached (a PostgreSQL restart), as the end is: it is idempotent (``worker_id`` and
        its ``started_at`` identify it, see :func:`.executions.claim_for_job`), so a claim
        that committed before its answer was lost is found again, and one that did not is
        made. Past the bound it raises the database's error; calling again with the same
        ``at`` (the claim's time, default now: with ``worker_id`` its identity) goes on with
        the same claim."""
        now = utcnow() if at is None else at
        if from_job:  # one guarded UPDATE: its own transaction
            return self._db.one_statement(
                lambda s: executions.claim_for_job(s, execution_id, worker_id, now),
                writes=True,
                reconnect_s=FINISH_RECONNECT_S,
            )
        return self._db.write(lambda s: executions.claim_execution(s, execution_id, worker_id, now))

    def requeue_execution(self, execution_id: str, worker_id: str) -> bool:
        """Hand a running execution of ``worker_id`` back to the queue (a worker that stops
        before it ended): its steps so far are deleted and it waits to run again from the
        start, on PostgreSQL as a new job. False if it no longer runs on ``worker_id``."""
        now = utcnow()
        return self._db.write(
            lambda s: executions.requeue_execution(s, execution_id, worker_id, now)
        )

    def settle_lost_job(self, job_id: int, *, backoff_s: float) -> str:
        """Settle the job of a dead worker (see :func:`.executions.settle_lost_job`): the
        outcome (``queued``, ``retried``, ``crashed``, ``finished`` or ``gone``)."""
        now = utcnow()
        return self._db.write(lambda s: executions.settle_lost_job(s, job_id, now, backoff_s))

    def finish_execution(
        self,
        execution_id: str,
        *,
        status: str,
        output: Any = None,
        error: Any = None,
        steps: Iterable[Mapping[str, Any]] | None = None,
        world: Mapping[str, Any] | None = None,
    ) -> ExecutionRecord:
        """Record how an execution ended: ``status`` is a finished status (succeeded, failed,
        timed_out, cancelled, crashed); ``output`` the JSON preview of the result; ``error``
        a JSON document. Sets ``finished_at`` and ``duration_ms``, and marks the execution's
        steps still ``running`` as ``interrupted``. An execution that already ended is
        returned unchanged (the first finish wins).

        ``steps``, if given, are saved first, in the same transaction, exactly as
        :meth:`save_steps` would (a malformed step raises :class:`InvalidDataError` and
        nothing is written).

        ``world``, if given (what the run got from the outside world: ``{"recording": ...}``,
        or a replay's ``{"report": ...}``; see :meth:`~runtree.store.Store.save_world`), is
        stored in the same transaction, before the end, so that whoever reads the end finds
        it. Failing to store it loses it, not the end (it is logged)."""
        now = utcnow()
        batch = None if steps is None else list(steps)  # the write may run more than once

        def operation(session: Session, world: Mapping[str, Any] | None) -> ExecutionRecord:
            row = executions.locked_row(session, execution_id)  # one lock for all that follows
            if world is not None:
                _save_world(session, execution_id, world)
            current = ExecutionStatus(row.status)
            # Ended meanwhile (cancelled, settled as lost, or this very write committed before
            # its connection broke): the first end stands, and the steps are not saved.
            if batch is not None and not current.finished:
                _save_steps(session, execution_id, batch, locked_status=current)
            return executions.finish_execution(
                session, execution_id, status=status, output=output, error=error, now=now, row=row
            )

        try:
            return self._db.write(lambda s: operation(s, world), reconnect_s=FINISH_RECONNECT_S)
        except _WorldNotStored as failure:
            # The database refused the recording (its transaction is gone with it, on
            # PostgreSQL): the end is stored again, without it.
            log.error(
                "could not store the world recording of execution %s",
                execution_id,
                exc_info=failure.__cause__,
            )
            return self._db.write(lambda s: operation(s, None), reconnect_s=FINISH_RECONNECT_S)

    def request_cancel(self, execution_id: str) -> ExecutionRecord:
        """Cancel an execution: a queued one becomes ``cancelled`` at once; a running one
        gets ``cancel_requested=True`` for its worker to act on; a finished one is returned
        unchanged."""
        now = utcnow()
        return self._db.write(lambda s: executions.request_cancel(s, execution_id, now))

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        """The execution with this id, or ``None``."""
        return self._db.one_statement(lambda s: executions.get_execution(s, execution_id))

    def get_executions(self, execution_ids: Collection[str]) -> dict[str, ExecutionRecord]:
        """The executions with these ids that exist, by id."""
        with self._db.reading() as session:
            return executions.get_executions(session, execution_ids)

    def list_replays(self, original: ExecutionRecord, limit: int = 20) -> list[ExecutionRecord]:
        """Executions started as replays of ``original``, newest first."""
        with self._db.reading() as session:
            return executions.list_replays(session, original, limit)

    def list_executions(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        status: str | None = None,
        trigger: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_shadow: bool = False,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """A page of executions, newest first, filtered by function (``namespace``,
        ``name``, each optional), ``status`` and ``trigger``. Returns ``(page,
        next_cursor)``; pass ``next_cursor`` back to get the following page (it is ``None``
        on the last one). ``limit`` is 1 to 1000. Shadow runs are left out unless
        ``include_shadow`` (or ``trigger="shadow"``). The unfiltered case of
        :meth:`~.queries.QueryRepository.search_executions` (one listing query)."""
        with self._db.reading() as session:
            return queries.search_executions(
                session,
                namespace=namespace,
                name=name,
                version=None,
                status=status,
                trigger=trigger,
                since=None,
                until=None,
                text=None,
                limit=limit,
                cursor=cursor,
                include_shadow=include_shadow,
            )

    def recover(self, worker_ids: Collection[str] | None = None) -> RecoveryReport:
        """Clean up after a crash, at start-up: every ``running`` execution (only those of
        ``worker_ids``, if given) becomes ``crashed`` with an error saying the server stopped,
        and its running steps ``interrupted``. Queued executions stay queued."""
        now = utcnow()
        crashed, interrupted, queued = self._db.write(
            lambda s: executions.recover(s, worker_ids, now)
        )
        return RecoveryReport(crashed=crashed, interrupted_steps=interrupted, queued=queued)


class _WorldNotStored(Exception):
    """The statement storing a world recording failed (see :func:`_save_world`)."""


def _save_world(session: Session, execution_id: str, world: Mapping[str, Any]) -> None:
    """Store ``world`` with the end. What is wrong with the recording itself (not JSON, a
    report for a run that is no replay) is found before anything is sent: it is logged and
    the end goes on without it. A statement that fails (rare: the row is locked and the
    checks passed) raises :class:`_WorldNotStored`, and the whole end is written again
    without the world -- cheaper on the hot path than a savepoint around every recording,
    whose two extra statements each run would pay."""
    try:
        worlds.save_world(
            session, execution_id, recording=world.get("recording"), report=world.get("report")
        )
    except InvalidDataError:
        log.exception("could not store the world recording of execution %s", execution_id)
    except OperationalError as error:
        if disconnected(error):
            raise  # the whole end is retried, with its world, once the database is back
        raise _WorldNotStored from error
    except Exception as error:
        raise _WorldNotStored from error
