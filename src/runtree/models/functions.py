"""Deployed functions and their immutable versions."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from . import ExecutionStatus


@dataclasses.dataclass(frozen=True, slots=True)
class FunctionRecord:
    """A function with a summary of its versions and runs.

    ``current_version`` is the version that runs by default (``None`` only if the function has
    no version, which normal operations never leave behind); ``latest_version`` the highest
    number stored, which is newer than the current one while it is being shadowed (``runtree
    deploy --shadow``) until promoted; ``run_count`` counts its executions (shadow runs not
    included); ``last_execution_id``/``last_status`` describe the newest one;
    ``step_count`` counts the recorded calls of its entry point as a step of a run (of
    another function, or its own recursion), up to 10,000 (counting stops there).
    """

    id: int
    namespace: str
    name: str
    description: str | None
    created_at: datetime.datetime
    current_version: int | None = None
    latest_version: int | None = None
    run_count: int = 0
    step_count: int = 0
    last_execution_id: str | None = None
    last_status: ExecutionStatus | None = None

    @property
    def qualified_name(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class VersionRecord:
    """One immutable snapshot of a function (never updated after it is created).

    ``settings`` holds ``timeout_s``, ``memory_mb``, ``tracking`` and whatever else the deploy
    recorded; ``signature`` describes the entry point's parameters and is opaque to the store.
    """

    id: int
    function_id: int
    namespace: str
    name: str
    number: int
    sha256: str
    source: str
    settings: dict[str, Any]
    warnings: list[Any]
    dependencies: list[Any]
    signature: Any
    created_at: datetime.datetime
    created_by: str | None

    @property
    def qualified_name(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"
