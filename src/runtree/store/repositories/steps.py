"""The steps of executions and their payloads: a repository of the
:class:`~runtree.store.Store`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import text

from ...models import (
    StepRecord,
)
from .. import steps
from ..database import Database
from ..engine import is_sqlite
from .executions import FINISH_RECONNECT_S

# PostgreSQL: analyze the step tables when this process has written this many steps, then
# ten times as many, and so on. Plans made while the tables were nearly empty (no statistics:
# autovacuum off or not yet run) were kept by pooled connections: the payload -> steps key
# check then took a 10,000-step execution from 1.7 s to 13.9 s to store. ANALYZE also makes
# PostgreSQL plan those statements again.
FIRST_ANALYZE_AFTER_STEPS = 1_000

T = TypeVar("T")


class StepRepository:
    """The steps of executions and their payloads."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._analyze = not is_sqlite(db.engine)
        self._lock = threading.Lock()
        self._written = 0
        self._next_analyze = FIRST_ANALYZE_AFTER_STEPS

    def save_steps(self, execution_id: str, steps_: Iterable[Mapping[str, Any]]) -> int:
        """Upsert a batch of steps in the ``Step.to_dict(include_blobs=True)`` shape, in one
        transaction. A step sent again replaces the stored one with its payloads (the later
        wins), except that a ``running`` step never replaces a finished one, and steps
        arriving ``running`` after the execution finished are stored ``interrupted``.
        Returns how many steps were written. Like an execution's end, a batch is retried
        while the database cannot be reached (a PostgreSQL restart): storing it again stores
        the same steps."""
        batch = list(steps_)  # a generator could not be read a second time
        written = self._db.write(
            lambda s: steps.save_steps(s, execution_id, batch), reconnect_s=FINISH_RECONNECT_S
        )
        if self._analyze and written:
            self._count_written(written)
        return written

    def _count_written(self, written: int) -> None:
        with self._lock:
            self._written += written
            due = self._written >= self._next_analyze
            if due:
                self._next_analyze = self._written * 10
        if due:
            self._db.write(lambda s: s.execute(text("ANALYZE steps, step_payloads")))

    def get_steps(self, execution_id: str, *, include_blobs: bool = False) -> list[StepRecord]:
        """Every step of an execution in sequence order, with inputs, output and generator
        payloads reassembled (``blob`` keys only when ``include_blobs``)."""
        with self._db.reading() as session:
            return steps.get_steps(session, execution_id, include_blobs=include_blobs)

    def map_steps(self, execution_id: str, convert: Callable[[StepRecord], T]) -> list[T]:
        """``[convert(step) for step in get_steps(execution_id)]``, each step converted as
        it is read (see :func:`runtree.store.steps.map_steps`): for readers that keep less
        than the records, e.g. each step's JSON document."""
        with self._db.reading() as session:
            return steps.map_steps(session, execution_id, convert, include_blobs=False)

    def get_step(
        self, execution_id: str, step_id: int, *, include_blobs: bool = False
    ) -> StepRecord | None:
        """One step of an execution, or ``None``."""
        with self._db.reading() as session:
            return steps.get_step(session, execution_id, step_id, include_blobs=include_blobs)

    def get_step_blob(
        self, execution_id: str, step_id: int, kind: str, name: str = ""
    ) -> bytes | None:
        """The serialized original of one captured value (``kind`` is ``input``, ``output``
        or ``first_yield``; ``name`` the parameter name for inputs, ``""`` otherwise), or
        ``None`` when there is none (truncated, redacted, unserializable or unknown)."""
        with self._db.reading() as session:
            return steps.get_step_blob(session, execution_id, step_id, kind, name)
