"""Shared vocabulary: the enums and the plain records that the store returns.

A leaf module (standard library only): every layer above may import it. The records are
frozen dataclasses detached from any database session, so they can be passed between threads,
rendered as JSON (``dataclasses.asdict``) or compared in tests. Their JSON-valued fields
(``settings``, ``input``, ``error`` ...) are the decoded JSON documents; treat them as
read-only.

Timestamps are timezone-aware UTC :class:`~datetime.datetime` values.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any


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


@dataclasses.dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What :meth:`runtree.store.Store.recover` changed: executions marked ``crashed``,
    steps marked ``interrupted``, and executions left ``queued`` (to be run again)."""

    crashed: int
    interrupted_steps: int
    queued: int


# --- access control, audit, webhooks and schedules ----------------------------------------


class Role(enum.StrEnum):
    """What an API key may do, each role including the ones before it: ``viewer`` reads;
    ``runner`` also starts, cancels and replays executions; ``developer`` also deploys and
    manages webhooks and schedules; ``admin`` also manages keys and reads the audit log."""

    VIEWER = "viewer"
    RUNNER = "runner"
    DEVELOPER = "developer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)


class Permission(enum.StrEnum):
    """What an operation needs; :data:`MIN_ROLE` says which role grants it."""

    READ = "read"
    RUN = "run"
    DEPLOY = "deploy"
    MANAGE_TRIGGERS = "manage_triggers"
    ADMIN = "admin"


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored: never the key itself, only its sha256 (``key_hash``) and its
    public ``prefix`` (the first characters, shown in listings to tell keys apart).
    ``namespace`` limits the key to one namespace (``None``: every namespace)."""

    id: int
    prefix: str
    name: str | None
    role: Role
    namespace: str | None
    created_at: datetime.datetime
    created_by: str | None
    revoked_at: datetime.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the audit log: ``actor`` did ``action`` to ``target`` at ``at``.
    ``namespace`` is set for entries about a namespace's functions and triggers; ``details``
    is a JSON object (never a secret)."""

    id: int
    at: datetime.datetime
    actor: str
    action: str
    target: str
    namespace: str | None
    details: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookRecord:
    """``POST /hooks/{path}`` starts ``namespace/name`` (``version``, or the latest).

    ``verify`` is ``none``, ``github``, ``stripe``, ``slack`` or ``hmac-sha256``; ``secret``
    the shared secret (only ever read by the signature check: never returned by the API).
    ``mode`` is ``sync`` (answer with the output, waiting up to ``sync_timeout_s``) or
    ``async`` (answer 202 at once)."""

    id: int
    path: str
    namespace: str
    name: str
    version: int | None
    verify: str
    secret: str | None
    mode: str
    sync_timeout_s: float
    created_at: datetime.datetime
    created_by: str | None

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One request received on a webhook path: ``accepted`` (it started ``execution_id``),
    ``duplicate`` (its idempotency key was seen within 24 h: ``execution_id`` is the first
    execution) or ``rejected`` (bad or missing signature: nothing ran; ``reason`` says why).

    ``headers`` are ``[name, value]`` pairs as received, secret ones redacted; ``body`` the
    raw bytes as received (``body_truncated`` only for rejected deliveries, which keep at
    most 64 KiB)."""

    id: str
    webhook_id: int | None
    path: str
    received_at: datetime.datetime
    method: str
    query_string: str
    headers: list[list[str]]
    body: bytes
    body_size: int
    body_truncated: bool
    status: str
    reason: str | None
    idempotency_key: str | None
    execution_id: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """Runs ``namespace/name`` with ``input`` at every time ``cron`` names in ``timezone``.

    ``next_fire_at`` is the next fire time not yet run (UTC); ``last_fire_at`` the last one
    that ran. A paused schedule fires nothing (resuming it skips the times it missed)."""

    id: int
    namespace: str
    name: str
    version: int | None
    cron: str
    timezone: str
    input: dict[str, Any]
    paused: bool
    next_fire_at: datetime.datetime
    last_fire_at: datetime.datetime | None
    created_at: datetime.datetime
    created_by: str | None

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleFireRecord:
    """One fire time of a schedule that ran: ``late`` when it ran well after its time
    (the server was down), ``missed`` how many earlier fire times were skipped for it."""

    schedule_id: int
    fire_time: datetime.datetime
    execution_id: str | None
    fired_at: datetime.datetime
    late: bool
    missed: int


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


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratedTest:
    """A pytest file made from a recorded step (``runtree test-from``): ``filename``
    (``test_….py``), ``text``, the step it tests, how many calls it stubs, and the reason it
    is marked xfail (``None``: it is not)."""

    __test__ = False  # not a pytest test class

    filename: str
    text: str
    execution_id: str
    step_id: int
    stubbed_calls: int
    xfail_reason: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class ShadowReportRecord:
    """A shadow replay of version ``version`` of a function: recorded inputs of
    ``baseline_version`` (current when it started) run against it as executions with trigger
    ``shadow``. ``requested`` is how many inputs were asked for; ``skipped`` lists the
    recorded executions left out, each ``{"execution_id", "reason"}``."""

    id: str
    function_id: int
    namespace: str
    name: str
    version: int
    baseline_version: int
    requested: int
    skipped: list[dict[str, Any]]
    created_at: datetime.datetime
    created_by: str | None

    @property
    def qualified_name(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class DeployResult:
    """A deployed version, and whether it is new (``False``: the identical latest one).
    ``current`` says whether it is now the function's current version (a shadowed deploy
    leaves it stored but not current); ``shadow_report`` is the id of the shadow report
    started for it, if any."""

    version: VersionRecord
    created: bool
    current: bool = True
    shadow_report: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class WorldRecord:
    """What an execution got from the outside world (see :mod:`runtree.execution.world`):
    ``mode`` ``record`` with its ``recording``, or ``replay`` -- a deterministic replay of
    ``replay_source``'s recording -- with its ``report`` once it ran. ``size_bytes``: the
    stored (compressed) recording."""

    execution_id: str
    mode: str
    replay_source: str | None
    recording: dict[str, Any] | None
    size_bytes: int
    report: dict[str, Any] | None


class RetentionKind(enum.StrEnum):
    """What a retention policy limits."""

    EXECUTIONS = "executions"  # with their steps and everything else recorded of them
    DELIVERIES = "deliveries"  # webhook deliveries (requests received on /hooks/...)
    AUDIT = "audit"  # audit log entries


# The namespace of the executions policy that applies to every namespace without its own.
EVERY_NAMESPACE = "*"


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionPolicyRecord:
    """How long one kind of data is kept: ``keep_days`` (older data goes) and, for
    executions, ``keep_last`` (per function, only the newest N stay); each ``None`` when it
    sets no limit, both ``None``: keep everything.

    Executions: ``namespace`` is a namespace or :data:`EVERY_NAMESPACE`; ``function`` a
    function name, or ``""`` for the whole namespace. Deliveries and audit entries have one
    policy each, for every namespace (``"*"``, ``""``).
    """

    kind: RetentionKind
    namespace: str
    function: str
    keep_days: int | None
    keep_last: int | None
    updated_at: datetime.datetime
    updated_by: str | None

    @property
    def target(self) -> str:
        """What the policy covers, as the CLI names it: ``*``, ``NS``, ``NS/NAME``, or
        ``deliveries`` / ``audit``."""
        if self.kind is not RetentionKind.EXECUTIONS:
            return self.kind.value
        return f"{self.namespace}/{self.function}" if self.function else self.namespace


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A process that runs executions, as it last reported itself. ``kind`` is ``worker``
    (``runtree worker``) or ``server`` (``runtree serve``'s own slots); ``live`` is whether
    its heartbeat is recent; ``running`` lists the executions it runs now (their ids)."""

    id: str
    kind: str
    host: str
    pid: int
    slots: int
    queues: list[str]
    started_at: datetime.datetime
    heartbeat_at: datetime.datetime
    stopping: bool
    live: bool
    running: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class QueueDepth:
    """One queue: executions waiting in it and running from it."""

    queue: str
    waiting: int
    running: int
