"""Shadow reports (a stored version replayed against recorded inputs) and promotion."""

from __future__ import annotations

import datetime
from typing import Any

from pydantic import Field

from .base import RequestModel, ResponseModel


class ShadowSide(ResponseModel):
    """One side of a replayed input: the recorded run or its shadow run."""

    id: str
    function: str
    version: int
    versions: dict[str, int]
    status: str
    duration_ms: int | None
    call_ms: float | None = Field(
        description="The root call's duration (ms); without steps, the execution's."
    )
    output: Any
    error: str | None = Field(description="'Type: message' of its error, if it failed.")


class ShadowDivergence(ResponseModel):
    path: list[str]
    reason: str | None


class ShadowTree(ResponseModel):
    """How the shadow run's step tree differs from the recorded one (the shadowed
    function's steps running another version is not counted)."""

    changed: int
    added: int
    removed: int
    first_divergence: ShadowDivergence | None


class ShadowRun(ResponseModel):
    """One recorded input, replayed."""

    verdict: str = Field(
        description="same, different_output, new_error, fixed_error, different_error, "
        "different_tree, slower, cancelled or pending (see the README, 'Shadow replay')."
    )
    input: Any
    recorded: ShadowSide
    shadow: ShadowSide
    time_ratio: float | None = Field(description="Shadow call time over recorded call time.")
    tree: ShadowTree | None


class ShadowSkipped(ResponseModel):
    execution_id: str
    reason: str
    why: str


class SlowerRule(ResponseModel):
    """A run is ``slower`` when its call took at least ``ratio`` times as long as recorded
    and at least ``min_ms`` more."""

    ratio: float
    min_ms: float


class ShadowReportOut(ResponseModel):
    """A shadow report: ``version`` replayed against recorded inputs of
    ``baseline_version`` (current when it started), network off. ``clean`` is true once it
    finished with at least one input replayed and every one ``same``."""

    id: str
    function: str
    namespace: str
    name: str
    version: int
    baseline_version: int
    current_version: int | None
    requested: int
    created_at: datetime.datetime
    created_by: str | None
    status: str = Field(description="running or finished")
    clean: bool
    replayed: int
    counts: dict[str, int]
    skipped: list[ShadowSkipped]
    skipped_counts: dict[str, int]
    slower_rule: SlowerRule
    network: bool
    runs: list[ShadowRun]


class ShadowReportList(ResponseModel):
    """A function's shadow reports, newest first."""

    reports: list[ShadowReportOut]


class PromoteRequest(RequestModel):
    require_clean: bool = Field(
        default=False,
        description="Refuse (409 shadow-not-clean, nothing changed) unless the version's "
        "latest shadow report finished against the current version with every input same.",
    )


class PromotionOut(ResponseModel):
    function: str
    previous_version: int | None
    current_version: int
    changed: bool
