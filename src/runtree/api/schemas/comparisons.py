"""Response bodies of the comparison endpoints: two runs compared by their trees."""

from __future__ import annotations

from typing import Any, Literal

from .base import ResponseModel


class ComparedRun(ResponseModel):
    id: str
    function: str
    version: int
    versions: dict[str, int]
    status: str
    duration_ms: int | None
    started_at: str | None


class ComparedSide(ResponseModel):
    """One run's step in a row: its id, status, version, duration and own time (ns), and
    its error as ``Type: message``."""

    id: int
    status: str
    function: str | None
    version: int | None
    duration_ns: int | None
    self_ns: int | None
    error: str | None


class InputChange(ResponseModel):
    """An input whose recorded value differs (``change``: added, removed, changed); ``a``
    and ``b`` are the previews; ``redacted`` when either holds redacted parts (never
    compared)."""

    key: str
    change: Literal["added", "removed", "changed"]
    a: Any
    b: Any
    redacted: bool


class AggregateCountChange(ResponseModel):
    name: str
    count_a: int
    count_b: int
    errors_a: int
    errors_b: int


class ComparedRow(ResponseModel):
    """One aligned pair, in call order of the merged tree (``kind``: same, changed, added =
    only in b, removed = only in a). ``parent`` is the parent row's index; ratios are b/a."""

    index: int
    parent: int | None
    depth: int
    name: str
    kind: Literal["same", "changed", "added", "removed"]
    a: ComparedSide | None
    b: ComparedSide | None
    status_changed: bool
    error: Literal["appeared", "disappeared", "changed"] | None
    inputs: list[InputChange]
    output_changed: bool
    version_changed: bool
    aggregates: list[AggregateCountChange]
    total_ratio: float | None
    self_ratio: float | None


class Divergence(ResponseModel):
    """Where the runs first differ in a way that matters: ``row`` index, ``reason``
    (failure, inputs, added, removed, status, error, output, version, aggregates) and the
    row's call path."""

    row: int
    reason: str
    path: list[str]


class ComparisonOut(ResponseModel):
    a: ComparedRun
    b: ComparedRun
    identical: bool
    first_divergence: Divergence | None
    counts: dict[str, int]
    rows: list[ComparedRow]
