"""What an execution got from the outside world: its recording, or its replay."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class WorldRecord:
    """What an execution got from the outside world (see :mod:`runtree.execution.world`):
    ``mode`` ``record`` with its ``recording``, or ``replay`` -- a deterministic replay of
    ``replay_source``'s recording -- with its ``report`` once it ran. ``size_bytes``: the
    stored (compressed) recording."""

    execution_id: str
    mode: str
    replay_source: str | None
    recording: dict[str, Any] | None
    size_bytes: int
    report: dict[str, Any] | None
