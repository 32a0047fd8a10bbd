"""Request and response bodies of the HTTP API, and their construction from store records.

These models are the API's contract: they define what the OpenAPI document says and what
clients receive. Response models are built from the frozen records of :mod:`runtree.models`
with the ``*_out`` functions below. Captured values never carry their serialized originals
(``blob``): the models drop any key they do not declare unless they say otherwise.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import service
from ..models import (
    ExecutionRecord,
    ExecutionStatus,
    FunctionRecord,
    StepRecord,
    StepStatus,
    StepSummary,
    Trigger,
    VersionRecord,
)
from ..service import VersionSettings

_DEFAULTS = VersionSettings()
# Version numbers fit a 32-bit signed integer column (a larger number cannot name a version).
MAX_VERSION = 2**31 - 1


class _Request(BaseModel):
    """Request bodies: unknown members are errors (a typo must not be ignored silently) and
    values are not coerced from other JSON types (``"30"`` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class _Out(BaseModel):
    """Response bodies: undeclared keys of the underlying documents are dropped."""

    model_config = ConfigDict(extra="ignore")


# --- requests ---------------------------------------------------------------------------


class DeployRequest(_Request):
    """A function's source and settings. Settings left out take their defaults; ranges are
    checked by the server (an out-of-range value is a 422 naming the field)."""

    code: str = Field(
        description="The module source. It must define a top-level function named like the "
        "function (the entry point)."
    )
    description: str | None = Field(
        default=None, description="Replaces the function's description when given."
    )
    timeout_s: float | None = Field(
        default=None, description=f"Wall-clock limit per run (default {_DEFAULTS.timeout_s:g})."
    )
    memory_mb: int | None = Field(
        default=None, description=f"Memory limit per run (default {_DEFAULTS.memory_mb})."
    )
    tracking: bool | None = Field(
        default=None, description="Record steps (default true); false runs the code as is."
    )
    network: bool | None = Field(
        default=None,
        description="Let runs open outbound TCP connections to the sandbox's allowed ports "
        "(default false: no sockets at all).",
    )
    subprocesses: bool | None = Field(
        default=None,
        description="Let runs start processes, up to a small process limit (default false).",
    )
    known_functions: list[str] = Field(
        default_factory=list,
        max_length=10_000,
        description="Other functions of the namespace deployed in the same batch: calls to "
        "them by bare name are not reported as undefined names (`runtree deploy DIR`).",
    )

    @field_validator("code", "description")
    @classmethod
    def _encodable(cls, text: str | None) -> str | None:
        """JSON can smuggle lone surrogates (``"\\ud800"``) that are no text at all: they
        cannot be compiled or stored, so they are refused here with their position."""
        if text is None:
            return None
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            before = text[: error.start]
            line = before.count("\n") + 1
            column = error.start - (before.rfind("\n") + 1) + 1
            raise ValueError(
                f"line {line}, column {column}: a lone surrogate is not valid Unicode text"
            ) from None
        return text


class RunRequest(_Request):
    """Start an execution. ``input`` maps the entry point's parameter names to JSON values."""

    input: dict[str, Any] = Field(
        default_factory=dict, description="Arguments by parameter name."
    )
    version: int | None = Field(
        default=None, ge=1, le=MAX_VERSION,
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


# --- functions and versions -------------------------------------------------------------


class SettingsOut(_Out):
    """A version's settings (part of its content hash)."""

    model_config = ConfigDict(extra="allow")

    timeout_s: float
    memory_mb: int
    tracking: bool
    # The sandbox opt-ins ``network`` and ``subprocesses`` appear (true) only when on.


class WarningOut(_Out):
    """A problem found by static analysis (the version was stored anyway)."""

    lineno: int
    col: int
    message: str
    kind: str


class ParameterOut(_Out):
    """One parameter of the entry point. ``annotation`` and ``default_source`` are source
    text; ``default`` is the default's value when it is a literal."""

    name: str
    kind: Literal[
        "positional_only", "positional_or_keyword", "var_positional", "keyword_only",
        "var_keyword",
    ]
    annotation: str | None = None
    has_default: bool = False
    default: Any = None
    default_source: str | None = None


class SignatureOut(_Out):
    """The entry point's signature, read from the source (nothing was run)."""

    name: str
    is_async: bool = False
    parameters: list[ParameterOut] = []
    docstring: str | None = None


class VersionOut(_Out):
    """An immutable version of a function (without its source)."""

    function: str = Field(description="namespace/name")
    namespace: str
    name: str
    number: int
    sha256: str = Field(description="Hash of source and settings.")
    settings: SettingsOut
    warnings: list[WarningOut]
    dependencies: list[str] = Field(description="Names the code uses but does not define.")
    signature: SignatureOut | None
    created_at: datetime.datetime
    created_by: str | None


class VersionDetail(VersionOut):
    """A version with its source."""

    source: str


class DeployOut(VersionOut):
    """The version a deploy produced or found: ``created`` is false when the latest version
    already had this source and these settings (it is returned unchanged)."""

    created: bool


class FunctionOut(_Out):
    """A function with a summary of its versions and runs."""

    function: str = Field(description="namespace/name")
    namespace: str
    name: str
    description: str | None
    created_at: datetime.datetime
    current_version: int | None
    run_count: int
    last_execution_id: str | None
    last_status: ExecutionStatus | None


class FunctionDetail(FunctionOut):
    """A function with its current version (and that version's source)."""

    version: VersionDetail | None


class FunctionList(_Out):
    functions: list[FunctionOut]


class VersionList(_Out):
    """Every version, oldest first."""

    versions: list[VersionOut]


class SettingChange(_Out):
    old: Any
    new: Any


class DiffOut(_Out):
    """What changed from one version to another: a unified diff of the sources (empty when
    they are equal) and the settings that differ."""

    function: str
    from_version: int
    to_version: int
    diff: str
    settings: dict[str, SettingChange]


# --- executions -------------------------------------------------------------------------


class FrameOut(_Out):
    """One line of a traceback (only the user's own code)."""

    model_config = ConfigDict(extra="allow")

    filename: str | None = None
    lineno: int | None = None
    name: str | None = None
    line: str | None = None


class ErrorOut(_Out):
    """How an execution or a step failed. ``step_id`` is the step whose failure ended the
    execution; ``from_step`` the child step the exception came from."""

    model_config = ConfigDict(extra="allow")

    type: str
    message: str = ""
    traceback: list[FrameOut] = []
    step_id: int | None = None
    from_step: int | None = None


class ExecutionOut(_Out):
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


class ExecutionAccepted(_Out):
    """An execution that has not finished (yet): poll ``GET /executions/{id}``."""

    id: str
    status: ExecutionStatus


class CapturedValue(_Out):
    """A captured argument or result: a bounded JSON ``preview``, the serialized ``size``,
    and marks for truncation (with the original's ``sha256``) and redaction."""

    preview: Any
    size: int
    format: str
    truncated: bool = False
    redacted: bool = False
    sha256: str | None = None
    warning: str | None = None


class AggregateOut(_Out):
    """Calls past the recording budget, counted instead of recorded one by one; ``children``:
    the rows of the calls they made (when those were past the budget too)."""

    name: str
    count: int
    total_ns: int
    errors: int
    children: list[AggregateOut] = []


class GeneratorOut(_Out):
    yielded: int
    first: CapturedValue | None


class StepOut(_Out):
    """One recorded call. ``parent_id`` is ``null`` for the root step (the entry point)."""

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


class ExecutionDetail(ExecutionOut):
    """An execution with its steps: a flat list in call order, linked by ``parent_id``."""

    steps: list[StepOut]


class ExecutionPage(_Out):
    """A page of executions, newest first; pass ``next_cursor`` as ``cursor`` for the next
    page (``null`` on the last one)."""

    executions: list[ExecutionOut]
    next_cursor: str | None


class SandboxLayerOut(_Out):
    name: str
    tier: int
    active: bool
    detail: str


class SandboxOut(_Out):
    """What the start-up probe found (``runtree doctor`` prints the same)."""

    enabled: bool = Field(description="False: RUNTREE_SANDBOX=off, user code unconfined.")
    tier0: bool = Field(description="Every always-on protection works here.")
    summary: str
    layers: list[SandboxLayerOut]


class Health(_Out):
    status: Literal["ok", "unavailable"]
    database: bool
    schema_revision: str | None = None
    sandbox: SandboxOut | None = Field(
        default=None, description="The sandbox user code runs in (absent: not this server's)."
    )


# --- records to responses ---------------------------------------------------------------


def version_fields(record: VersionRecord) -> dict[str, Any]:
    return {
        "function": record.qualified_name,
        "namespace": record.namespace,
        "name": record.name,
        "number": record.number,
        "sha256": record.sha256,
        "settings": record.settings,
        "warnings": record.warnings,
        "dependencies": record.dependencies,
        "signature": record.signature,
        "created_at": record.created_at,
        "created_by": record.created_by,
    }


def version_out(record: VersionRecord) -> VersionOut:
    return VersionOut.model_validate(version_fields(record))


def version_detail(record: VersionRecord) -> VersionDetail:
    return VersionDetail.model_validate({**version_fields(record), "source": record.source})


def deploy_out(record: VersionRecord, created: bool) -> DeployOut:
    return DeployOut.model_validate({**version_fields(record), "created": created})


def function_fields(record: FunctionRecord) -> dict[str, Any]:
    return {
        "function": record.qualified_name,
        "namespace": record.namespace,
        "name": record.name,
        "description": record.description,
        "created_at": record.created_at,
        "current_version": record.current_version,
        "run_count": record.run_count,
        "last_execution_id": record.last_execution_id,
        "last_status": record.last_status,
    }


def function_out(record: FunctionRecord) -> FunctionOut:
    return FunctionOut.model_validate(function_fields(record))


def function_detail(record: FunctionRecord, version: VersionRecord | None) -> FunctionDetail:
    return FunctionDetail.model_validate(
        {**function_fields(record), "version": None if version is None else version_detail(version)}
    )


def execution_fields(record: ExecutionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "function": record.qualified_name,
        "namespace": record.namespace,
        "name": record.name,
        "version": record.version,
        "trigger": record.trigger,
        "status": record.status,
        "input": record.input,
        "output": record.output,
        "error": record.error,
        "versions": record.versions,
        "queued_at": record.queued_at,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "duration_ms": record.duration_ms,
        "cancel_requested": record.cancel_requested,
        "worker_id": record.worker_id,
        "replay_of": record.replay_of,
    }


def execution_out(record: ExecutionRecord) -> ExecutionOut:
    return ExecutionOut.model_validate(execution_fields(record))


def execution_detail(record: ExecutionRecord, steps: list[StepRecord]) -> ExecutionDetail:
    return ExecutionDetail.model_validate(
        {**execution_fields(record), "steps": [step.to_dict() for step in steps]}
    )


# --- exploring: outlines, step pages, statistics ----------------------------------------


class ErrorSummary(_Out):
    """The type and message of a step's error (the traceback is in the full step)."""

    type: str
    message: str = ""


class GeneratorSummary(_Out):
    yielded: int


class StepSummaryOut(_Out):
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


class ExecutionOutline(_Out):
    """An execution with all its steps as summaries (call order), for tree views. Paths are
    step ids from the root: ``failing_path`` down failed (or interrupted) steps to the
    innermost one; ``critical_path`` down the children that held their parent up longest."""

    execution: ExecutionOut
    steps: list[StepSummaryOut]
    failing_path: list[int]
    critical_path: list[int]


class StepPageOut(_Out):
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


class SlowStepOut(_Out):
    """One function's steps across recent runs, ranked by their total own time."""

    name: str
    function: str | None
    calls: int
    runs: int
    total_self_ns: int
    mean_self_ns: int
    max_self_ns: int
    slowest_execution_id: str
    slowest_step_id: int


class VersionStatsOut(_Out):
    """Runs of one version. ``error_rate`` is failed + timed out + crashed over those plus
    succeeded (cancelled runs count neither way); percentiles (nearest rank) are over the
    newest ``sampled`` finished runs; ``slowest_steps`` (only for the version asked about,
    else ``null``) are over its newest ``recent_runs`` finished runs."""

    version: int
    runs: int
    statuses: dict[str, int]
    error_rate: float | None
    sampled: int
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    recent_runs: int
    slowest_steps: list[SlowStepOut] | None


class FunctionStatsOut(_Out):
    """Statistics of every version of a function, newest version first."""

    function: str
    versions: list[VersionStatsOut]


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
        "error": None if error is None else {
            "type": str(error.get("type", "Error")),
            "message": str(error.get("message", "")),
        },
        "stdout_size": step.stdout_size,
        "stdout_truncated": step.stdout_truncated,
        "warnings": len(step.warnings),
        "aggregates": [_aggregate_outline(aggregate) for aggregate in step.aggregates],
        "generator": None if generator is None else {
            "yielded": int(generator.get("yielded", 0))
        },
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
        "steps": [
            step_summary_fields(s, outline.children, outline.self_ns) for s in outline.steps
        ],
        "failing_path": outline.failing_path,
        "critical_path": outline.critical_path,
    }
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()


def step_page_out(page: service.StepPage) -> StepPageOut:
    return StepPageOut(
        steps=[
            StepSummaryOut.model_validate(step_summary_fields(s, page.children))
            for s in page.steps
        ],
        next_cursor=page.next_cursor,
    )


def step_detail_out(detail: service.StepDetail) -> StepDetailOut:
    return StepDetailOut.model_validate(
        {
            **detail.step.to_dict(),
            "children": detail.children,
            "self_ns": detail.self_ns,
            "children_ns": detail.children_ns,
        }
    )


def function_stats_out(stats: service.FunctionStats) -> FunctionStatsOut:
    return FunctionStatsOut(
        function=f"{stats.namespace}/{stats.name}",
        versions=[
            VersionStatsOut(
                version=v.version,
                runs=v.runs,
                statuses=v.statuses,
                error_rate=v.error_rate,
                sampled=v.sampled,
                p50_ms=v.p50_ms,
                p95_ms=v.p95_ms,
                p99_ms=v.p99_ms,
                recent_runs=v.recent_runs,
                slowest_steps=None if v.slowest_steps is None else [
                    SlowStepOut(
                        name=s.name,
                        function=s.function,
                        calls=s.calls,
                        runs=s.runs,
                        total_self_ns=s.total_self_ns,
                        mean_self_ns=s.total_self_ns // max(1, s.calls),
                        max_self_ns=s.max_self_ns,
                        slowest_execution_id=s.slowest_execution_id,
                        slowest_step_id=s.slowest_step_id,
                    )
                    for s in v.slowest_steps
                ],
            )
            for v in stats.versions
        ],
    )
