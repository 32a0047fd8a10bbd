"""Shared vocabulary: the enums and the plain records that the store returns.

A leaf module (standard library only): every layer above may import it. The records are
frozen dataclasses detached from any database session, so they can be passed between threads,
rendered as JSON (``dataclasses.asdict``) or compared in tests. Their JSON-valued fields
(``settings``, ``input``, ``error`` ...) are the decoded JSON documents; treat them as
read-only.

Timestamps are timezone-aware UTC :class:`~datetime.datetime` values.

This module holds the enums and the records of executions and steps; the others (functions
and versions, access, triggers, step summaries, deploys, worlds, operations) live in the
submodules and are imported when first read: creating a frozen dataclass costs about 2 ms,
and ``runtree show`` needs two of the twenty.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import TYPE_CHECKING, Any

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .access import ApiKeyRecord, AuditRecord, Permission, Role
    from .deploys import DeployResult, GeneratedTest, ShadowReportRecord
    from .functions import FunctionRecord, VersionRecord
    from .operations import (
        EVERY_NAMESPACE,
        QueueDepth,
        RecoveryReport,
        RetentionKind,
        RetentionPolicyRecord,
        WorkerRecord,
    )
    from .steps import StepSummary, StepTiming
    from .triggers import DeliveryRecord, ScheduleFireRecord, ScheduleRecord, WebhookRecord
    from .worlds import WorldRecord


class Trigger(enum.StrEnum):
    """What started an execution."""

    CLI = "cli"
    API = "api"
    WEBHOOK = "webhook"
    SCHEDULE = "schedule"
    REPLAY = "replay"
    SHADOW = "shadow"  # a recorded input replayed against a version not yet current


class ExecutionStatus(enum.StrEnum):
    """Where an execution is: ``queued -> running -> one of the finished states``."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    CRASHED = "crashed"

    @property
    def finished(self) -> bool:
        """True for the states an execution never leaves."""
        return self not in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


FINISHED_STATUSES: frozenset[ExecutionStatus] = frozenset(
    status for status in ExecutionStatus if status.finished
)


class StepStatus(enum.StrEnum):
    """Where one recorded call is (the same strings as :mod:`runtree.tracking`)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class PayloadKind(enum.StrEnum):
    """Which captured value of a step a payload row holds."""

    INPUT = "input"  # one argument, named by its parameter
    OUTPUT = "output"  # the return value (name "")
    FIRST_YIELD = "first_yield"  # a generator's first yielded value (name "")


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionRecord:
    """One run of one function version.

    ``id`` is a 32-character lowercase hex string whose order is creation order (newest ids
    sort last). ``version`` is the version *number*; ``versions`` maps each function name the
    run resolved at start to the version number it used. ``duration_ms`` is the time from
    ``started_at`` to ``finished_at`` (``None`` until finished, and for executions that
    never started). A shadow run (trigger ``shadow``) names its report in
    ``shadow_report_id`` and the recorded execution it replays in ``replay_of``.
    """

    id: str
    function_id: int
    version_id: int
    namespace: str
    name: str
    version: int
    trigger: Trigger
    status: ExecutionStatus
    input: Any
    output: Any
    error: Any
    versions: dict[str, int]
    queued_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    duration_ms: int | None
    cancel_requested: bool
    worker_id: str | None
    replay_of: str | None
    shadow_report_id: str | None = None

    @property
    def qualified_name(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @property
    def finished(self) -> bool:
        """True once the execution reached a state it never leaves."""
        return self.status.finished


STEP_FIELDS: tuple[str, ...] = (
    "id",
    "parent_id",
    "sequence",
    "depth",
    "name",
    "filename",
    "lineno",
    "function",
    "version",
    "status",
    "started_at_ns",
    "duration_ns",
    "inputs",
    "output",
    "error",
    "stdout",
    "stdout_truncated",
    "warnings",
    "aggregates",
    "generator",
)
"""The keys of a step document, in order: the one definition of a step's fields.

``runtree.tracking.Step.to_dict()`` gives them all but ``function``; :class:`StepRecord`
holds them (plus ``execution_id`` and ``extra``) and :meth:`StepRecord.to_dict` returns them;
the store keeps every other key of a step dict in ``extra``; the worker protocol's ``Step``
and the API's ``StepOut`` declare exactly these fields (their types differ by layer: strict
input checks there, response documents here), which ``tests/layout`` checks.
"""


@dataclasses.dataclass(frozen=True, slots=True)
class StepRecord:
    """One recorded call, as stored.

    The fields mirror ``runtree.tracking.Step.to_dict()``: ``inputs`` maps parameter names to
    captured-value dicts (``preview``, ``size``, ``format``, ``truncated``, ``redacted`` and,
    when present, ``sha256``, ``warning``, ``blob``), ``output`` is one such dict or ``None``,
    ``generator`` is ``{"yielded": n, "first": captured-or-None}`` for generator steps and
    ``None`` otherwise. ``function`` (``namespace/name``) and ``version`` name the uploaded
    function version the call belongs to, when known. ``extra`` holds keys of the step dict
    the store has no column for (sent by a newer tracking runtime), returned as they came.
    :meth:`to_dict` gives the dict shape.
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
    inputs: dict[str, dict[str, Any]]
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    stdout: str
    stdout_truncated: bool
    warnings: list[str]
    aggregates: list[dict[str, Any]]
    generator: dict[str, Any] | None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> str:
        """``io`` for an outbound request (an I/O step), else ``call``."""
        return "io" if self.extra.get("kind") == "io" else "call"

    @property
    def io(self) -> dict[str, Any] | None:
        """What an I/O step did (``method``, ``url``, ``status``); ``None`` for a call."""
        io = self.extra.get("io")
        return io if self.kind == "io" and isinstance(io, dict) else None

    def to_dict(self) -> dict[str, Any]:
        """The step in the ``Step.to_dict()`` shape, plus the ``function`` key.

        ``generator`` is ``None`` for ordinary calls, as in the tracking runtime; ``status``
        is a plain string; the ``extra`` keys are merged in.
        """
        document = {**self.extra, **{field: getattr(self, field) for field in STEP_FIELDS}}
        document["status"] = str(self.status)
        return document


lazy_exports(
    __name__,
    {
        "ApiKeyRecord": ".access",
        "AuditRecord": ".access",
        "Permission": ".access",
        "Role": ".access",
        "DeployResult": ".deploys",
        "GeneratedTest": ".deploys",
        "ShadowReportRecord": ".deploys",
        "FunctionRecord": ".functions",
        "VersionRecord": ".functions",
        "EVERY_NAMESPACE": ".operations",
        "QueueDepth": ".operations",
        "RecoveryReport": ".operations",
        "RetentionKind": ".operations",
        "RetentionPolicyRecord": ".operations",
        "WorkerRecord": ".operations",
        "StepSummary": ".steps",
        "StepTiming": ".steps",
        "DeliveryRecord": ".triggers",
        "ScheduleFireRecord": ".triggers",
        "ScheduleRecord": ".triggers",
        "WebhookRecord": ".triggers",
        "WorldRecord": ".worlds",
    },
)

__all__ = [
    "EVERY_NAMESPACE",
    "FINISHED_STATUSES",
    "STEP_FIELDS",
    "ApiKeyRecord",
    "AuditRecord",
    "DeliveryRecord",
    "DeployResult",
    "ExecutionRecord",
    "ExecutionStatus",
    "FunctionRecord",
    "GeneratedTest",
    "PayloadKind",
    "Permission",
    "QueueDepth",
    "RecoveryReport",
    "RetentionKind",
    "RetentionPolicyRecord",
    "Role",
    "ScheduleFireRecord",
    "ScheduleRecord",
    "ShadowReportRecord",
    "StepRecord",
    "StepStatus",
    "StepSummary",
    "StepTiming",
    "Trigger",
    "VersionRecord",
    "WebhookRecord",
    "WorkerRecord",
    "WorldRecord",
]
