"""Executions: starting one, and an execution with its steps."""

from __future__ import annotations

import datetime
from typing import Any

from pydantic import ConfigDict, Field

from ...models import (
    ExecutionRecord,
    ExecutionStatus,
    StepRecord,
    StepStatus,
    Trigger,
)
from .base import MAX_VERSION, RequestModel, ResponseModel, from_record


class RunRequest(RequestModel):
    """Start an execution. ``input`` maps the entry point's parameter names to JSON values."""

    input: dict[str, Any] = Field(default_factory=dict, description="Arguments by parameter name.")
    version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VERSION,
        description="Version number to run (default: the latest).",
    )
    wait: bool = Field(
        default=True,
        description="Answer when the execution finished (200) instead of at once (202).",
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        le=24 * 3600,
        description="How long to wait for the end before answering 202 (default: the "
        "version's timeout plus a margin). Does not limit the execution itself.",
    )


class FrameOut(ResponseModel):
    """One line of a traceback (only the user's own code)."""

    model_config = ConfigDict(extra="allow")

    filename: str | None = None
    lineno: int | None = None
    name: str | None = None
    line: str | None = None


class ErrorOut(ResponseModel):
    """How an execution or a step failed. ``step_id`` is the step whose failure ended the
    execution; ``from_step`` the child step the exception came from."""

    model_config = ConfigDict(extra="allow")

    type: str
    message: str = ""
    traceback: list[FrameOut] = []
    step_id: int | None = None
    from_step: int | None = None


class ExecutionOut(ResponseModel):
    """One run of one function version. ``output`` is the JSON preview of the result;
    ``versions`` the version number each reachable function resolved to at start."""

    id: str
    function: str = Field(description="namespace/name")
    namespace: str
    name: str
    version: int
    trigger: Trigger
    status: ExecutionStatus
    input: Any
    output: Any
    error: ErrorOut | None
    versions: dict[str, int]
    queued_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    duration_ms: int | None
    cancel_requested: bool
    worker_id: str | None
    replay_of: str | None
    shadow_report_id: str | None = Field(
        default=None, description="The shadow report of a shadow run (trigger shadow)."
    )


class ReplayRequest(RequestModel):
    """Replay an execution: ``deterministic`` also replays what it got from the outside world
    (its recorded HTTP answers, clock reads and randomness, network off); ``version`` runs
    that version of the function instead (default: the version that ran)."""

    deterministic: bool = False
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class HttpInteractionOut(ResponseModel):
    method: str
    url: str = Field(description="Redacted as recorded.")
    status: int | None
    duration_ns: int


class WorldOut(ResponseModel):
    """What an execution got from the outside world (README, "Deterministic replay"):
    ``mode`` ``record`` -- its recording, summarized -- or ``replay`` -- a deterministic
    replay of ``replay_source``'s recording, with the ``report`` of how it used it (``None``
    until it ran): HTTP answers played and never asked for, clock and random bytes read
    against recorded, and the first ``divergence`` (a request that was not recorded) --, or
    ``null`` when nothing was recorded."""

    execution_id: str
    mode: str | None = Field(description="``record``, ``replay``, or ``null``: nothing recorded.")
    replay_source: str | None
    size_bytes: int = Field(description="The stored (compressed) recording.")
    http: list[HttpInteractionOut] = Field(default_factory=list)
    http_dropped: int = 0
    clock_reads: int = 0
    urandom_bytes: int = 0
    partial: bool = Field(
        default=False,
        description="The run ended without its report (timed out, crashed, cancelled): its "
        "recording holds what it got until then.",
    )
    report: dict[str, Any] | None = None


class ExecutionAccepted(ResponseModel):
    """An execution that has not finished (yet): poll ``GET /executions/{id}``."""

    id: str
    status: ExecutionStatus


class CapturedValue(ResponseModel):
    """A captured argument or result: a bounded JSON ``preview``, the serialized ``size``,
    and marks for truncation (with the original's ``sha256``) and redaction."""

    preview: Any
    size: int
    format: str = Field(description="How the original was serialized for replay (internal).")
    truncated: bool = False
    redacted: bool = False
    sha256: str | None = None
    warning: str | None = None
    type: str | None = Field(
        default=None,
        description="The original value's type "
        "(list, dict, shop.Order ...); null for values recorded before "
        "runtree kept it.",
    )
    length: int | None = Field(
        default=None, description="len() of a built-in string, bytes or container."
    )


class AggregateOut(ResponseModel):
    """Calls past the recording budget, counted instead of recorded one by one; ``children``:
    the rows of the calls they made (when those were past the budget too)."""

    name: str
    count: int
    total_ns: int
    errors: int
    children: list[AggregateOut] = []


class GeneratorOut(ResponseModel):
    yielded: int
    first: CapturedValue | None


class IoOut(ResponseModel):
    """What an I/O step did: an HTTP request's method, redacted URL and status (``null``
    while it runs, or when it failed)."""

    method: str
    url: str
    status: int | None = None


class StepOut(ResponseModel):
    """One recorded call, or an outbound request the code made (``kind`` ``io``: an I/O
    step, with ``io``). ``parent_id`` is ``null`` for the root step (the entry point)."""

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
    inputs: dict[str, CapturedValue]
    output: CapturedValue | None
    error: ErrorOut | None
    stdout: str
    stdout_truncated: bool
    warnings: list[str]
    aggregates: list[AggregateOut]
    generator: GeneratorOut | None = None
    kind: str = Field(default="call", description="``call``, or ``io``: an outbound request.")
    io: IoOut | None = None


class ExecutionDetail(ExecutionOut):
    """An execution with its steps: a flat list in call order, linked by ``parent_id``."""

    steps: list[StepOut]


class ExecutionPage(ResponseModel):
    """A page of executions, newest first; pass ``next_cursor`` as ``cursor`` for the next
    page (``null`` on the last one)."""

    executions: list[ExecutionOut]
    next_cursor: str | None


def execution_out(record: ExecutionRecord) -> ExecutionOut:
    return from_record(ExecutionOut, record, function=record.qualified_name)


def execution_detail(record: ExecutionRecord, steps: list[StepRecord]) -> ExecutionDetail:
    return from_record(ExecutionDetail, record, function=record.qualified_name, steps=steps)


class ExecutionBrief(ResponseModel):
    """An execution a delivery or a schedule started, as a list shows it."""

    id: str
    function: str
    version: int
    trigger: str
    status: str
    queued_at: datetime.datetime
    duration_ms: int | None


def execution_brief(record: ExecutionRecord | None) -> ExecutionBrief | None:
    if record is None:
        return None
    return from_record(
        ExecutionBrief,
        record,
        function=record.qualified_name,
        trigger=str(record.trigger),
        status=str(record.status),
    )
