"""Steps seen in part: a tree view's summary of a step (without its values) and a step's
timing (for statistics)."""

from __future__ import annotations

import dataclasses
from typing import Any

from . import StepStatus


@dataclasses.dataclass(frozen=True, slots=True)
class StepSummary:
    """A step without its captured values and printed output: what a tree view needs.

    ``stdout_size`` is the length of the printed output (in characters); ``error``,
    ``warnings``, ``aggregates`` and ``generator`` are as in :class:`StepRecord` (the
    generator's first yielded value left out).
    """

    execution_id: str
    id: int
    parent_id: int | None
    sequence: int
    depth: int
    name: str
    filename: str | None
    lineno: int | None
    function: str | None
    version: int | None
    status: StepStatus
    started_at_ns: int
    duration_ns: int | None
    error: dict[str, Any] | None
    stdout_size: int
    stdout_truncated: bool
    warnings: list[str]
    aggregates: list[dict[str, Any]]
    generator: dict[str, Any] | None
    # An I/O step's summary (``method``, ``url``, ``status``); ``None`` for a call.
    io: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class StepTiming:
    """When one step ran, and where it sits in its execution's tree (for statistics)."""

    execution_id: str
    id: int
    parent_id: int | None
    name: str
    function: str | None
    status: StepStatus
    started_at_ns: int
    duration_ns: int | None
