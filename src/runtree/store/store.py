"""The :class:`Store`: runtree's persistence API.

One object per process (it is thread-safe: every method runs in its own transaction on a
pooled connection). Every method returns plain frozen records from :mod:`runtree.models`,
never ORM objects. Lookups (``get_*``) return ``None`` and listings return ``[]`` for what does
not exist; operations on a named execution or version raise :class:`NotFoundError`; bad
arguments raise :class:`InvalidDataError` (a ``ValueError``). Serialized values (``blob``) are
stored and returned as ``bytes`` and never deserialized by the store.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import (
    ExecutionRecord,
    FunctionRecord,
    RecoveryReport,
    StepRecord,
    StepSummary,
    StepTiming,
    VersionRecord,
)
from . import catalog, executions, queries, steps
from . import migrate as migrations
from .common import utcnow
from .engine import DEFAULT_URL, create_store_engine, is_sqlite, write_engine
from .steps import save_steps as _save_steps
from .store_triggers import AccessAndTriggersMixin

T = TypeVar("T")

DEPLOY_ATTEMPTS = 10


class Store(AccessAndTriggersMixin):
    """Functions, versions, executions and steps in SQLite or PostgreSQL.

    ``Store(url)`` connects and, unless ``migrate=False``, brings the schema to the newest
    migration (safe when several processes start at once). ``url`` is a SQLAlchemy URL;
    ``postgresql://`` (and ``postgres://``) use the psycopg 3 driver. Close the store with
    :meth:`close` or use it as a context manager.
    """

    def __init__(self, url: str | URL = DEFAULT_URL, *, migrate: bool = True) -> None:
        self._engine = create_store_engine(url)
        self._writer = write_engine(self._engine)
        try:
            if migrate:
                migrations.upgrade(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    @classmethod
    def open(cls, url: str | URL = DEFAULT_URL, *, migrate: bool = True) -> Store:
        """Same as ``Store(url)``."""
        return cls(url, migrate=migrate)

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and maintenance; not for business logic)."""
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        """True on SQLite, False on PostgreSQL."""
        return is_sqlite(self._engine)

    def schema_revision(self) -> str | None:
        """The migration the database is at (``None`` if it has no schema yet)."""
        return migrations.current_revision(self._engine)

    # --- transactions -------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self._engine) as session, session.begin():
            yield session

    def _write(self, operation: Callable[[Session], T], *, attempts: int = 1) -> T:
        """Run ``operation`` in a write transaction, committing on return; retry the whole
        transaction on a unique-constraint race up to ``attempts`` times in all."""
        for attempt in range(1, attempts + 1):
            try:
                with Session(self._writer) as session, session.begin():
                    return operation(session)
            except IntegrityError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # --- functions and versions ---------------------------------------------------------

    def deploy_version(
        self,
        namespace: str,
        name: str,
        *,
        source: str,
        settings: Mapping[str, Any],
        sha256: str,
        warnings: Sequence[Any] = (),
        dependencies: Sequence[Any] = (),
        signature: Any = None,
        description: str | None = None,
        created_by: str | None = None,
    ) -> tuple[VersionRecord, bool]:
        """Store a version of ``namespace/name``, creating the function on first deploy.

        Returns ``(version, True)`` for a new version numbered one past the latest, or
        ``(latest, False)`` when the latest version already has this ``sha256`` (the caller
        computes it from source and settings). Safe under concurrent deploys of the same
        function: numbers never collide and identical concurrent deploys create one version.
        A non-``None`` ``description`` replaces the function's description.
        """
        now = utcnow()
        return self._write(
            lambda session: catalog.deploy_version(
                session,
                namespace,
                name,
                source=source,
                settings=settings,
                sha256=sha256,
                warnings=warnings,
                dependencies=dependencies,
                signature=signature,
                description=description,
                created_by=created_by,
                now=now,
            ),
            attempts=DEPLOY_ATTEMPTS,
        )

    def get_function(self, namespace: str, name: str) -> FunctionRecord | None:
        """The function with its current version number, run count and last status."""
        with self._reading() as session:
            return catalog.get_function(session, namespace, name)

    def list_functions(self, namespace: str | None = None) -> list[FunctionRecord]:
        """Every function (of ``namespace``, if given), sorted by namespace and name."""
        with self._reading() as session:
            return catalog.list_functions(session, namespace)

    def list_versions(self, namespace: str, name: str) -> list[VersionRecord]:
        """Every version of a function, oldest first (with sources)."""
        with self._reading() as session:
            return catalog.list_versions(session, namespace, name)

    def get_version(
        self, namespace: str, name: str, number: int | None = None
    ) -> VersionRecord | None:
        """Version ``number`` of a function; the latest one when ``number`` is ``None``."""
        with self._reading() as session:
            return catalog.get_version(session, namespace, name, number)

    def get_version_by_id(self, version_id: int) -> VersionRecord | None:
        """The version with this database id (as in ``ExecutionRecord.version_id``)."""
        with self._reading() as session:
            return catalog.get_version_by_id(session, version_id)

    def get_versions(
        self, namespace: str, numbers: Mapping[str, int]
    ) -> dict[str, VersionRecord]:
        """Version ``numbers[name]`` of each named function of ``namespace``, keyed by name,
        in one transaction (versions that do not exist are left out)."""
        with self._reading() as session:
            return catalog.get_versions(session, namespace, numbers)

    def current_versions(self, namespace: str) -> dict[str, VersionRecord]:
        """The latest version of every function in ``namespace``, keyed by function name
        (one query; what an execution resolves its calls against)."""
        with self._reading() as session:
            return catalog.current_versions(session, namespace)

    def current_version_numbers(self, namespace: str) -> dict[str, tuple[int, list[Any]]]:
        """``(number, dependencies)`` of the latest version of every function in
        ``namespace``, keyed by function name: :meth:`current_versions` without reading any
        source (one query)."""
        with self._reading() as session:
            return catalog.current_version_numbers(session, namespace)

    # --- executions ---------------------------------------------------------------------

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
        return self._write(
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
        with self._reading() as session:
            return executions.private_input(session, execution_id)

    def claim_next_execution(self, worker_id: str) -> ExecutionRecord | None:
        """Atomically move the oldest queued execution to ``running`` (setting
        ``started_at`` and ``worker_id``) and return it; ``None`` when the queue is empty.
        Concurrent claimers, in any process, never receive the same execution.

        Polling an empty queue is a plain read: it takes no write lock."""
        return self.claim_next(worker_id)[0]

    def claim_next(
        self, worker_id: str, *, expect_queued: bool = False
    ) -> tuple[ExecutionRecord | None, bool]:
        """:meth:`claim_next_execution`, and whether other executions were still queued
        after the one claimed (a hint to look again at once rather than wait).

        With ``expect_queued`` (the caller was just told an execution was queued) the
        read-only look at the queue is skipped: the write transaction looks at once."""
        if not expect_queued:
            with self._reading() as session:
                if not executions.has_queued(session):
                    return None, False
        now = utcnow()
        return self._write(lambda s: executions.claim_next(s, worker_id, now))

    def claim_execution(self, execution_id: str, worker_id: str) -> ExecutionRecord | None:
        """Claim one specific execution if it is still queued; ``None`` if it is not (already
        claimed, cancelled ...). Raises :class:`NotFoundError` for an unknown id."""
        now = utcnow()
        return self._write(lambda s: executions.claim_execution(s, execution_id, worker_id, now))

    def finish_execution(
        self,
        execution_id: str,
        *,
        status: str,
        output: Any = None,
        error: Any = None,
        steps: Iterable[Mapping[str, Any]] | None = None,
    ) -> ExecutionRecord:
        """Record how an execution ended: ``status`` is a finished status (succeeded, failed,
        timed_out, cancelled, crashed); ``output`` the JSON preview of the result; ``error``
        a JSON document. Sets ``finished_at`` and ``duration_ms``, and marks the execution's
        steps still ``running`` as ``interrupted``. An execution that already ended is
        returned unchanged (the first finish wins).

        ``steps``, if given, are saved first, in the same transaction, exactly as
        :meth:`save_steps` would (a malformed step raises :class:`InvalidDataError` and
        nothing is written)."""
        now = utcnow()

        def operation(session: Session) -> ExecutionRecord:
            if steps is not None:
                _save_steps(session, execution_id, steps)
            return executions.finish_execution(
                session, execution_id, status=status, output=output, error=error, now=now
            )

        return self._write(operation)

    def request_cancel(self, execution_id: str) -> ExecutionRecord:
        """Cancel an execution: a queued one becomes ``cancelled`` at once; a running one
        gets ``cancel_requested=True`` for its worker to act on; a finished one is returned
        unchanged."""
        now = utcnow()
        return self._write(lambda s: executions.request_cancel(s, execution_id, now))

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        """The execution with this id, or ``None``."""
        with self._reading() as session:
            return executions.get_execution(session, execution_id)

    def get_executions(self, execution_ids: Collection[str]) -> dict[str, ExecutionRecord]:
        """The executions with these ids that exist, by id."""
        with self._reading() as session:
            return executions.get_executions(session, execution_ids)

    def list_replays(self, original: ExecutionRecord, limit: int = 20) -> list[ExecutionRecord]:
        """Executions started as replays of ``original``, newest first."""
        with self._reading() as session:
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
    ) -> tuple[list[ExecutionRecord], str | None]:
        """A page of executions, newest first, filtered by function (``namespace``,
        ``name``, each optional), ``status`` and ``trigger``. Returns ``(page,
        next_cursor)``; pass ``next_cursor`` back to get the following page (it is ``None``
        on the last one). ``limit`` is 1 to 1000."""
        with self._reading() as session:
            return executions.list_executions(
                session,
                namespace=namespace,
                name=name,
                status=status,
                trigger=trigger,
                limit=limit,
                cursor=cursor,
            )

    def recover(self, worker_ids: Collection[str] | None = None) -> RecoveryReport:
        """Clean up after a crash, at start-up: every ``running`` execution (only those of
        ``worker_ids``, if given) becomes ``crashed`` with an error saying the server stopped,
        and its running steps ``interrupted``. Queued executions stay queued."""
        now = utcnow()
        crashed, interrupted, queued = self._write(lambda s: executions.recover(s, worker_ids, now))
        return RecoveryReport(crashed=crashed, interrupted_steps=interrupted, queued=queued)

    # --- steps --------------------------------------------------------------------------

    def save_steps(self, execution_id: str, steps_: Iterable[Mapping[str, Any]]) -> int:
        """Upsert a batch of steps in the ``Step.to_dict(include_blobs=True)`` shape, in one
        transaction. A step sent again replaces the stored one with its payloads (the later
        wins), except that a ``running`` step never replaces a finished one, and steps
        arriving ``running`` after the execution finished are stored ``interrupted``.
        Returns how many steps were written."""
        return self._write(lambda s: steps.save_steps(s, execution_id, steps_))

    def get_steps(self, execution_id: str, *, include_blobs: bool = False) -> list[StepRecord]:
        """Every step of an execution in sequence order, with inputs, output and generator
        payloads reassembled (``blob`` keys only when ``include_blobs``)."""
        with self._reading() as session:
            return steps.get_steps(session, execution_id, include_blobs=include_blobs)

    def get_step(
        self, execution_id: str, step_id: int, *, include_blobs: bool = False
    ) -> StepRecord | None:
        """One step of an execution, or ``None``."""
        with self._reading() as session:
            return steps.get_step(session, execution_id, step_id, include_blobs=include_blobs)

    def get_step_blob(
        self, execution_id: str, step_id: int, kind: str, name: str = ""
    ) -> bytes | None:
        """The serialized original of one captured value (``kind`` is ``input``, ``output``
        or ``first_yield``; ``name`` the parameter name for inputs, ``""`` otherwise), or
        ``None`` when there is none (truncated, redacted, unserializable or unknown)."""
        with self._reading() as session:
            return steps.get_step_blob(session, execution_id, step_id, kind, name)

    # --- exploring: searches, outlines and statistics (read-only) ------------------------

    def search_executions(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        version: int | None = None,
        status: str | None = None,
        trigger: str | None = None,
        since: datetime.datetime | None = None,
        until: datetime.datetime | None = None,
        text: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """:meth:`list_executions` with more filters: ``version`` number, creation time
        (``since`` inclusive, ``until`` exclusive; timezone-aware) and ``text`` found in the
        input (a value as typed, or ``key=value`` for that key with exactly that value)."""
        with self._reading() as session:
            return queries.search_executions(
                session,
                namespace=namespace,
                name=name,
                version=version,
                status=status,
                trigger=trigger,
                since=since,
                until=until,
                text=text,
                limit=limit,
                cursor=cursor,
            )

    def get_step_summaries(
        self,
        execution_id: str,
        *,
        parent_id: int | None = None,
        roots: bool = False,
        after: int | None = None,
        limit: int | None = None,
    ) -> list[StepSummary]:
        """Steps in sequence order without payloads or printed output (one query): all of
        them, the children of ``parent_id``, or (``roots``) those without a parent; only
        those after sequence number ``after``; at most ``limit``."""
        with self._reading() as session:
            return queries.step_summaries(
                session, execution_id, parent_id=parent_id, roots=roots, after=after,
                limit=limit,
            )

    def count_children(self, execution_id: str, parent_ids: Sequence[int]) -> dict[int, int]:
        """How many direct children each of these steps has (steps without any are left
        out)."""
        with self._reading() as session:
            return queries.child_counts(session, execution_id, parent_ids)

    def version_status_counts(self, namespace: str, name: str) -> dict[int, dict[str, int]]:
        """Executions of a function per version number and status (one grouped query)."""
        with self._reading() as session:
            return queries.version_status_counts(session, namespace, name)

    def recent_durations(
        self, namespace: str, name: str, version: int, *, limit: int = 1000
    ) -> list[int]:
        """``duration_ms`` of the newest finished executions of one version, newest first."""
        with self._reading() as session:
            return queries.recent_durations(session, namespace, name, version, limit)

    def recent_execution_ids(
        self, namespace: str, name: str, version: int, *, limit: int = 20
    ) -> list[str]:
        """Ids of the newest finished executions of one version that started, newest
        first."""
        with self._reading() as session:
            return queries.recent_execution_ids(session, namespace, name, version, limit)

    def get_step_timings(self, execution_ids: Sequence[str]) -> list[StepTiming]:
        """Id, parent, name and timing of every step of these executions."""
        with self._reading() as session:
            return queries.step_timings(session, execution_ids)
