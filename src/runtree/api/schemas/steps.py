"""Exploring an execution: its outline, pages of steps and one step in full."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from ... import service
from ...models import (
    StepStatus,
    StepSummary,
)
from .base import ResponseModel, from_record
from .executions import AggregateOut, ExecutionOut, IoOut, StepOut, execution_out


class ErrorSummary(ResponseModel):
    """The type and message of a step's error (the traceback is in the full step)."""

    type: str
    message: str = ""


class GeneratorSummary(ResponseModel):
    yielded: int


class StepSummaryOut(ResponseModel):
    """A step without its captured values and printed output. ``children`` counts its
    recorded children; ``self_ns`` is its own time (duration minus the time its recorded
    children cover; ``null`` while it runs or where not computed); ``stdout_size`` the length
    of its printed output."""

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
    self_ns: int | None = None
    children: int = 0
    error: ErrorSummary | None
    stdout_size: int
    stdout_truncated: bool
    warnings: int = Field(description="How many tracking warnings the step has.")
    aggregates: list[AggregateOut]
    generator: GeneratorSummary | None = None
    kind: str = Field(default="call", description="``call``, or ``io``: an outbound request.")
    io: IoOut | None = None


class ExecutionOutline(ResponseModel):
    """An execution with all its steps as summaries (call order), for tree views. Paths are
    step ids from the root: ``failing_path`` down failed (or interrupted) steps to the
    innermost one; ``critical_path`` down the children that held their parent up longest."""

    execution: ExecutionOut
    steps: list[StepSummaryOut]
    failing_path: list[int]
    critical_path: list[int]


class StepPageOut(ResponseModel):
    """Steps in call order; pass ``next_cursor`` as ``cursor`` for the next page (``null``
    on the last)."""

    steps: list[StepSummaryOut]
    next_cursor: int | None


class StepDetailOut(StepOut):
    """One step in full, with how its duration splits into its own time and the time its
    recorded children cover (both ``null`` while it runs)."""

    children: int
    self_ns: int | None
    children_ns: int | None


def step_summary_fields(
    step: StepSummary, children: dict[int, int], self_ns: dict[int, int] | None = None
) -> dict[str, Any]:
    """The JSON document of :class:`StepSummaryOut` for a step, built directly (outlines hold
    up to the whole step budget, and validating each one would cost more than reading it)."""
    error = step.error
    generator = step.generator
    return {
        "id": step.id,
        "parent_id": step.parent_id,
        "sequence": step.sequence,
        "depth": step.depth,
        "name": step.name,
        "filename": step.filename,
        "lineno": step.lineno,
        "function": step.function,
        "version": step.version,
        "status": step.status.value,
        "started_at_ns": step.started_at_ns,
        "duration_ns": step.duration_ns,
        "self_ns": None if self_ns is None else self_ns.get(step.id),
        "children": children.get(step.id, 0),
        "error": None
        if error is None
        else {
            "type": str(error.get("type", "Error")),
            "message": str(error.get("message", "")),
        },
        "stdout_size": step.stdout_size,
        "stdout_truncated": step.stdout_truncated,
        "warnings": len(step.warnings),
        "aggregates": [_aggregate_outline(aggregate) for aggregate in step.aggregates],
        "generator": None if generator is None else {"yielded": int(generator.get("yielded", 0))},
        "kind": "call" if step.io is None else "io",
        "io": step.io,
    }


def _aggregate_outline(aggregate: dict[str, Any]) -> dict[str, Any]:
    """An aggregate row of a step's outline; ``children`` only when it has rows under it."""
    row = {key: aggregate.get(key) for key in ("name", "count", "total_ns", "errors")}
    if aggregate.get("children"):
        row["children"] = [_aggregate_outline(child) for child in aggregate["children"]]
    return row


def outline_json(outline: service.Outline) -> bytes:
    """The :class:`ExecutionOutline` document of an outline, serialized."""
    document = {
        "execution": execution_out(outline.execution).model_dump(mode="json"),
        "steps": [step_summary_fields(s, outline.children, outline.self_ns) for s in outline.steps],
        "failing_path": outline.failing_path,
        "critical_path": outline.critical_path,
    }
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def step_page_out(page: service.StepPage) -> StepPageOut:
    return StepPageOut(
        steps=[
            StepSummaryOut.model_validate(step_summary_fields(s, page.children)) for s in page.steps
        ],
        next_cursor=page.next_cursor,
    )


def step_detail_out(detail: service.StepDetail) -> StepDetailOut:
    return from_record(
        StepDetailOut,
        detail.step,
        children=detail.children,
        self_ns=detail.self_ns,
        children_ns=detail.children_ns,
    )
