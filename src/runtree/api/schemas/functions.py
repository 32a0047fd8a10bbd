"""Functions and versions: deploying, reading, listing and diffing them."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from ...models import (
    DeployResult,
    ExecutionStatus,
    FunctionRecord,
    VersionRecord,
)
from ...service import VersionSettings
from .base import RequestModel, ResponseModel, from_record

_DEFAULTS = VersionSettings()


class DeployRequest(RequestModel):
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
    queue: str | None = Field(
        default=None,
        description="The queue its executions wait in (default `default`; PostgreSQL: only "
        "`runtree worker --queue NAME` processes run them). Lowercase letters, digits, `_`, "
        "`.`, `-`; at most 64.",
    )
    retries: int | None = Field(
        default=None,
        description="Times an execution whose worker was lost runs again from the start, "
        "with backoff (0 to 5, default 0: it ends `crashed`).",
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


class SettingsOut(ResponseModel):
    """A version's settings (part of its content hash)."""

    model_config = ConfigDict(extra="allow")

    timeout_s: float
    memory_mb: int
    tracking: bool

    # The sandbox opt-ins ``network`` and ``subprocesses`` appear (true) only when on;
    # ``queue`` and ``retries`` only when not the default.


class WarningOut(ResponseModel):
    """A problem found by static analysis (the version was stored anyway)."""

    lineno: int
    col: int
    message: str
    kind: str


class ParameterOut(ResponseModel):
    """One parameter of the entry point. ``annotation`` and ``default_source`` are source
    text; ``default`` is the default's value when it is a literal."""

    name: str
    kind: Literal[
        "positional_only",
        "positional_or_keyword",
        "var_positional",
        "keyword_only",
        "var_keyword",
    ]
    annotation: str | None = None
    has_default: bool = False
    default: Any = None
    default_source: str | None = None


class SignatureOut(ResponseModel):
    """The entry point's signature, read from the source (nothing was run)."""

    name: str
    is_async: bool = False
    parameters: list[ParameterOut] = []
    docstring: str | None = None


class VersionOut(ResponseModel):
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
    already had this source and these settings (it is returned unchanged); ``current`` is
    false when it was deployed with ``?shadow=N`` and is not live yet; ``shadow_report`` is
    the id of the shadow report started for it."""

    created: bool
    current: bool = True
    shadow_report: str | None = None


class FunctionOut(ResponseModel):
    """A function with a summary of its versions and runs."""

    function: str = Field(description="namespace/name")
    namespace: str
    name: str
    description: str | None
    created_at: datetime.datetime
    current_version: int | None = Field(description="The version runs use by default.")
    latest_version: int | None = Field(
        default=None,
        description="The newest version stored: newer than the current one while it is "
        "shadowed and not promoted.",
    )
    run_count: int = Field(
        description="Executions with this function as the entry point (not shadow runs)."
    )
    step_count: int = Field(
        default=0,
        description="Recorded calls of its entry point as a "
        "step of a run (of another function, or its own recursion); "
        "counting stops at 10,000.",
    )
    last_execution_id: str | None
    last_status: ExecutionStatus | None


class FunctionDetail(FunctionOut):
    """A function with its current version (and that version's source)."""

    version: VersionDetail | None


class FunctionList(ResponseModel):
    functions: list[FunctionOut]


class VersionList(ResponseModel):
    """Every version, oldest first."""

    versions: list[VersionOut]


class SettingChange(ResponseModel):
    old: Any
    new: Any


class DiffOut(ResponseModel):
    """What changed from one version to another: a unified diff of the sources (empty when
    they are equal) and the settings that differ."""

    function: str
    from_version: int
    to_version: int
    diff: str
    settings: dict[str, SettingChange]


def version_out(record: VersionRecord) -> VersionOut:
    return from_record(VersionOut, record, function=record.qualified_name)


def version_detail(record: VersionRecord) -> VersionDetail:
    return from_record(VersionDetail, record, function=record.qualified_name)


def deploy_out(result: DeployResult) -> DeployOut:
    record = result.version
    return from_record(
        DeployOut,
        record,
        function=record.qualified_name,
        created=result.created,
        current=result.current,
        shadow_report=result.shadow_report,
    )


def function_out(record: FunctionRecord) -> FunctionOut:
    return from_record(FunctionOut, record, function=record.qualified_name)


def function_detail(record: FunctionRecord, version: VersionRecord | None) -> FunctionDetail:
    return from_record(
        FunctionDetail,
        record,
        function=record.qualified_name,
        version=None if version is None else version_detail(version),
    )
