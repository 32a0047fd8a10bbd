"""Read-only queries for exploring (searches, outlines, statistics): a repository of the
:class:`~runtree.store.Store`."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from ...models import (
    ExecutionRecord,
    StepSummary,
    StepTiming,
)
from .. import queries, value_search
from ..database import Database


class QueryRepository:
    """Read-only queries for exploring: searches, outlines, statistics."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def find_value(
        self,
        value: str,
        *,
        key: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_shadow: bool = False,
    ) -> tuple[list[tuple[ExecutionRecord, list[dict[str, Any]]]], str | None]:
        """The executions that handled ``value``, newest first, with the steps that did
        (:func:`~runtree.store.value_search.find_value`)."""
        with self._db.reading() as session:
            return value_search.find_value(
                session,
                value,
                key=key,
                namespace=namespace,
                name=name,
                limit=limit,
                cursor=cursor,
                include_shadow=include_shadow,
            )

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
        include_shadow: bool = False,
    ) -> tuple[list[ExecutionRecord], str | None]:
        """:meth:`list_executions` with more filters: ``version`` number, creation time
        (``since`` inclusive, ``until`` exclusive; timezone-aware) and ``text`` found in the
        input (a value as typed, or ``key=value`` for that key with exactly that value).
        Shadow runs only with ``include_shadow`` (or ``trigger="shadow"``)."""
        with self._db.reading() as session:
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
                include_shadow=include_shadow,
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
        with self._db.reading() as session:
            return queries.step_summaries(
                session,
                execution_id,
                parent_id=parent_id,
                roots=roots,
                after=after,
                limit=limit,
            )

    def count_children(self, execution_id: str, parent_ids: Sequence[int]) -> dict[int, int]:
        """How many direct children each of these steps has (steps without any are left
        out)."""
        with self._db.reading() as session:
            return queries.child_counts(session, execution_id, parent_ids)

    def version_status_counts(self, namespace: str, name: str) -> dict[int, dict[str, int]]:
        """Executions of a function per version number and status (one grouped query; shadow
        runs are not counted, nor in the other statistics here)."""
        return self._db.one_statement(
            lambda session: queries.version_status_counts(session, namespace, name)
        )

    def recent_durations(
        self, namespace: str, name: str, version: int, *, limit: int = 1000
    ) -> list[int]:
        """``duration_ms`` of the newest finished executions of one version, newest first."""
        return self._db.one_statement(
            lambda session: queries.recent_durations(session, namespace, name, version, limit)
        )

    def recent_execution_ids(
        self, namespace: str, name: str, version: int, *, limit: int = 20
    ) -> list[str]:
        """Ids of the newest finished executions of one version that started, newest
        first."""
        return self._db.one_statement(
            lambda session: queries.recent_execution_ids(session, namespace, name, version, limit)
        )

    def get_step_timings(self, execution_ids: Sequence[str]) -> list[StepTiming]:
        """Id, parent, name and timing of every step of these executions."""
        with self._db.reading() as session:
            return queries.step_timings(session, execution_ids)

    def get_step_timings_within(
        self, execution_ids: Sequence[str], budget: int
    ) -> tuple[list[StepTiming], int]:
        """The step timings of the first of these executions, then of each next one as long
        as the total stays within ``budget`` steps (in the order of ``execution_ids``, each
        execution's by sequence); and how many executions were read.

        Two statements whatever the number of executions: their step counts (each counted
        up to ``budget + 1``, which is past the budget already), then the steps of those
        chosen. Each is a transaction of its own (:meth:`Database.one_statement`): meant for
        finished executions, whose steps no longer change; one pruned in between is read
        with the steps it still has (none)."""
        ids = list(execution_ids)
        if len(ids) > 1:
            counts = self._db.one_statement(
                lambda s: queries.capped_step_counts(s, ids, budget + 1)
            )
            ids = queries.within_budget(ids, counts, budget)
        if not ids:
            return [], 0
        timings = self._db.one_statement(lambda s: queries.step_timings(s, ids))
        position = {execution_id: index for index, execution_id in enumerate(ids)}
        timings.sort(key=lambda timing: position[timing.execution_id])  # stable: by sequence
        return timings, len(ids)
