"""The steps of executions and their payloads: a repository of the
:class:`~runtree.store.Store`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...models import (
    StepRecord,
)
from .. import steps
from ..database import Database


class StepRepository:
    """The steps of executions and their payloads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save_steps(self, execution_id: str, steps_: Iterable[Mapping[str, Any]]) -> int:
        """Upsert a batch of steps in the ``Step.to_dict(include_blobs=True)`` shape, in one
        transaction. A step sent again replaces the stored one with its payloads (the later
        wins), except that a ``running`` step never replaces a finished one, and steps
        arriving ``running`` after the execution finished are stored ``interrupted``.
        Returns how many steps were written."""
        return self._db.write(lambda s: steps.save_steps(s, execution_id, steps_))

    def get_steps(self, execution_id: str, *, include_blobs: bool = False) -> list[StepRecord]:
        """Every step of an execution in sequence order, with inputs, output and generator
        payloads reassembled (``blob`` keys only when ``include_blobs``)."""
        with self._db.reading() as session:
            return steps.get_steps(session, execution_id, include_blobs=include_blobs)

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
