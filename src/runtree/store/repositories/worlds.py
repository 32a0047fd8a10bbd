"""What executions got from the outside world (deterministic replay): a repository of the
:class:`~runtree.store.Store`."""

from __future__ import annotations

from typing import Any

from ...models import WorldRecord
from .. import worlds
from ..database import Database


class WorldRepository:
    """Recordings of the outside world and the reports of their replays."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save_world(
        self,
        execution_id: str,
        *,
        recording: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
    ) -> None:
        """Store what a run got from the outside world (``recording``), or how a deterministic
        replay used its source's (``report``)."""
        self._db.write(
            lambda s: worlds.save_world(s, execution_id, recording=recording, report=report)
        )

    def get_world(self, execution_id: str) -> WorldRecord | None:
        """The execution's recording or replay plan and report, or ``None``."""
        with self._db.reading() as session:
            return worlds.get_world(session, execution_id)
