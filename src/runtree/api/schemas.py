"""Request and response bodies of the HTTP API, and their construction from store records.

These models are the API's contract: they define what the OpenAPI document says and what
clients receive. Response models are built from the frozen records of :mod:`runtree.models`
with the ``*_out`` functions below. Captured values never carry their serialized originals
(``blob``): the models drop any key they do not declare unless they say otherwise.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..models import (
    ExecutionRecord,
    ExecutionStatus,
    FunctionRecord,
    StepRecord,
    StepStatus,
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
    """Calls past the recording budget, counted instead of recorded one by one."""

    name: str
    count: int
    total_ns: int
    errors: int


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


class Health(_Out):
    status: Literal["ok", "unavailable"]
    database: bool
    schema_revision: str | None = None


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
