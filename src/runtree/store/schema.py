"""The tables, as typed SQLAlchemy ORM classes.

These classes are the store's private representation: the store's methods return the plain
records of :mod:`runtree.models`, never these rows. Every change here needs a migration in
``migrations/versions/`` (the test suite compares both).

Conventions: times are UTC (:class:`UTCDateTime`); strings never hold NUL
(:class:`CleanString`); statuses and triggers are plain strings
validated by the store; JSON columns use the generic ``JSON`` type on every backend (it keeps
object key order, which previews rely on; PostgreSQL ``JSONB`` would not).
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON where Python None means SQL NULL ("absent"), not the JSON document null.
NullableJSON = JSON(none_as_null=True)


class UTCDateTime(TypeDecorator[datetime.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no time zone, so values are stored there as naive UTC; PostgreSQL uses
    ``timestamp with time zone``. Naive values are rejected on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store needs timezone-aware values")
        value = value.astimezone(datetime.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC)


class CleanString(TypeDecorator[str]):
    """A string column that accepts any Python ``str``: NUL characters, which PostgreSQL
    cannot store in text, are stored as U+FFFD (on every backend, so both behave alike)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and "\x00" in value:
            return value.replace("\x00", "\ufffd")
        return value


class CleanText(CleanString):
    """:class:`CleanString` for unbounded text."""

    impl = Text
    cache_ok = True


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class FunctionRow(Base):
    __tablename__ = "functions"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(CleanString(200))
    name: Mapped[str] = mapped_column(CleanString(200))
    description: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    # The version that runs by default (migration 0009): the newest one, unless a newer one
    # was deployed with --shadow and not promoted yet. NULL only before the first version.
    current_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class VersionRow(Base):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("function_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(CleanString(64))
    source: Mapped[str] = mapped_column(CleanText)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    dependencies: Mapped[list[Any]] = mapped_column(JSON)
    signature: Mapped[Any] = mapped_column(NullableJSON, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(CleanString(200))


class ExecutionRow(Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_status_queued_at", "status", "queued_at"),
        Index("ix_executions_function_id_id", "function_id", "id"),
        Index("ix_executions_namespace_name_id", "namespace", "name", "id"),
        # Only shadow runs (migration 0015): an index on every NULL made SQLite list all
        # executions through it (shadow_report_id IS NULL) and sort them, instead of reading
        # the newest few by primary key.
        Index(
            "ix_executions_shadow_report_id",
            "shadow_report_id",
            sqlite_where=text("shadow_report_id IS NOT NULL"),
            postgresql_where=text("shadow_report_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(CleanString(32), primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    namespace: Mapped[str] = mapped_column(CleanString(200))
    name: Mapped[str] = mapped_column(CleanString(200))
    version: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(CleanString(20))
    status: Mapped[str] = mapped_column(CleanString(20))
    input: Mapped[Any] = mapped_column(JSON)
    output: Mapped[Any] = mapped_column(NullableJSON, nullable=True)
    error: Mapped[Any] = mapped_column(NullableJSON, nullable=True)
    versions: Mapped[dict[str, int]] = mapped_column(JSON)
    queued_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_id: Mapped[str | None] = mapped_column(CleanString(200))
    replay_of: Mapped[str | None] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="SET NULL")
    )
    # Set for shadow runs only (trigger "shadow", migration 0009): every listing and
    # statistic of normal runs leaves out the rows where it is not NULL.
    shadow_report_id: Mapped[str | None] = mapped_column(
        CleanString(32), ForeignKey("shadow_reports.id", ondelete="CASCADE"), nullable=True
    )


class RunCountRow(Base):
    """How many executions of a version are in each status, shadow runs left out (migration
    0014): what ``/functions``, a function's statistics and its page count, without grouping
    every execution. Kept by triggers on ``executions`` (insert, status change, delete), so
    in the very transaction that queues, claims, ends or deletes an execution, whichever code
    does it. They follow retention: a pruned execution leaves its count."""

    __tablename__ = "run_counts"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(CleanString(20), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class ShadowReportRow(Base):
    """A shadow replay of a stored version against the recorded inputs of the current one
    (migration 0009); its runs are the executions that name it."""

    __tablename__ = "shadow_reports"
    __table_args__ = (Index("ix_shadow_reports_function_id_id", "function_id", "id"),)

    id: Mapped[str] = mapped_column(CleanString(32), primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id", ondelete="CASCADE"))
    namespace: Mapped[str] = mapped_column(CleanString(200))
    name: Mapped[str] = mapped_column(CleanString(200))
    version: Mapped[int] = mapped_column(Integer)
    baseline_version: Mapped[int] = mapped_column(Integer)
    requested: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(CleanString(300))


class PrivateInputRow(Base):
    """The unredacted input of an execution whose input named a secret (a ``password`` or
    ``token`` parameter ...). ``executions.input`` holds the redacted copy everyone reads; the
    worker needs the real values, so they are kept here, sealed (:mod:`.sealed`), only until
    the execution ends."""

    __tablename__ = "execution_private_inputs"

    execution_id: Mapped[str] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    sealed_input: Mapped[str] = mapped_column(Text)  # the input as JSON, sealed (0006)


class WorldRow(Base):
    """What an execution got from the outside world (migration 0007): ``mode`` ``record``
    (its ``recording``: zlib-compressed JSON, see :mod:`runtree.execution.world`) or
    ``replay`` (a deterministic replay of ``replay_source``'s recording, with its
    ``report``). ``size_bytes``: the stored recording's size, counted in the execution's."""

    __tablename__ = "execution_worlds"

    execution_id: Mapped[str] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(CleanString(10))
    replay_source: Mapped[str | None] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="SET NULL")
    )
    recording: Mapped[bytes | None] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    report: Mapped[Any] = mapped_column(NullableJSON, nullable=True)


class StepRow(Base):
    __tablename__ = "steps"
    __table_args__ = (
        Index("ix_steps_execution_id_parent_id", "execution_id", "parent_id"),
        # No (execution_id, sequence) index (dropped in migration 0012): the primary key
        # finds an execution's steps, at most the step budget of them, sorted in memory.
        # Counts a function's calls as a step of another run (migration 0005); only steps
        # that name a function (migration 0015: most are plain code and need no entry).
        Index(
            "ix_steps_function_name_calls",
            "function",
            "name",
            sqlite_where=text("function IS NOT NULL AND parent_id IS NOT NULL"),
            postgresql_where=text("function IS NOT NULL AND parent_id IS NOT NULL"),
        ),
        # SQLite: the primary key is the table, not a second copy of each key (0015).
        {"sqlite_with_rowid": False},
    )

    execution_id: Mapped[str] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(CleanText)
    filename: Mapped[str | None] = mapped_column(CleanText)
    lineno: Mapped[int | None] = mapped_column(Integer)
    function: Mapped[str | None] = mapped_column(CleanString(401))
    version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(CleanString(20))
    started_at_ns: Mapped[int] = mapped_column(BigInteger)
    duration_ns: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[Any] = mapped_column(NullableJSON, nullable=True)
    stdout: Mapped[str] = mapped_column(CleanText)
    stdout_truncated: Mapped[bool] = mapped_column(Boolean)
    warnings: Mapped[list[str]] = mapped_column(JSON)
    aggregates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # {"yielded": n} for generator steps (the first yielded value is a payload), else NULL.
    generator: Mapped[Any] = mapped_column(NullableJSON, nullable=True)
    # Keys of the step dict the store does not know (newer tracking runtimes), kept as sent.
    extra: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON, nullable=True)
    # The small captured values, as compact lists (step_codec.inline; migration 0012).
    payloads: Mapped[list[Any] | None] = mapped_column(NullableJSON, nullable=True)


class ValueHashKeyRow(Base):
    """The HMAC key of the value index (migration 0011): 32 random bytes, sealed (so a
    master-key rotation re-encrypts it and the digests already stored stay valid). One row,
    ``id`` 1."""

    __tablename__ = "value_hash_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sealed_key: Mapped[str] = mapped_column(Text)


class ValueHashRow(Base):
    """One scalar value a step handled, as a keyed hash (migration 0011, :mod:`.value_index`):
    never the value itself. ``key`` is the name the value was found under (parameter, mapping
    key or field; ``""`` for an output or a list item at the top)."""

    __tablename__ = "value_hashes"
    __table_args__ = (
        Index("ix_value_hashes_digest", "digest", "execution_id"),
        {"sqlite_with_rowid": False},  # the primary key holds every column (migration 0015)
    )

    execution_id: Mapped[str] = mapped_column(
        ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True
    )
    step_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(CleanString(20), primary_key=True)
    key: Mapped[str] = mapped_column(CleanString(200), primary_key=True)
    digest: Mapped[str] = mapped_column(CleanString(32), primary_key=True)


class PayloadRow(Base):
    """One large captured value of a step (small ones are in ``steps.payloads``): an input
    (by parameter name), the output or a generator's first yield. ``blob`` is the serialized
    original; the store never deserializes it."""

    __tablename__ = "step_payloads"
    __table_args__ = (
        ForeignKeyConstraint(
            ["execution_id", "step_id"],
            ["steps.execution_id", "steps.id"],
            ondelete="CASCADE",
        ),
    )

    execution_id: Mapped[str] = mapped_column(CleanString(32), primary_key=True)
    step_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(CleanString(20), primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # parameter order among a step's inputs
    preview: Mapped[Any] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(CleanString(20))
    truncated: Mapped[bool] = mapped_column(Boolean)
    redacted: Mapped[bool] = mapped_column(Boolean)
    sha256: Mapped[str | None] = mapped_column(CleanString(64))
    warning: Mapped[str | None] = mapped_column(CleanText)
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The original value's type and len() (migration 0005; NULL in rows recorded before).
    value_type: Mapped[str | None] = mapped_column(CleanString(200))
    length: Mapped[int | None] = mapped_column(BigInteger)


# --- access control, audit, webhooks, schedules (migration 0003) ---------------------------


class ApiKeyRow(Base):
    """An API key: only its sha256 is stored (keys are 256-bit random strings, so a fast
    hash is enough: there is nothing to brute-force), plus its public prefix."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("prefix"), UniqueConstraint("key_hash"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(CleanString(32))
    key_hash: Mapped[str] = mapped_column(CleanString(64))
    name: Mapped[str | None] = mapped_column(CleanString(200))
    role: Mapped[str] = mapped_column(CleanString(20))
    namespace: Mapped[str | None] = mapped_column(CleanString(200))
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(CleanString(300))
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)


class ServerFlagRow(Base):
    """One-time facts about this database (``admin-key-bootstrapped`` ...): the primary key
    makes "only the first process does it" a database guarantee."""

    __tablename__ = "server_flags"

    name: Mapped[str] = mapped_column(CleanString(100), primary_key=True)
    value: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_namespace_id", "namespace", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(CleanString(300))
    action: Mapped[str] = mapped_column(CleanString(50))
    target: Mapped[str] = mapped_column(CleanText)
    namespace: Mapped[str | None] = mapped_column(CleanString(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebhookRow(Base):
    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(CleanString(100))
    namespace: Mapped[str] = mapped_column(CleanString(200))
    name: Mapped[str] = mapped_column(CleanString(200))
    version: Mapped[int | None] = mapped_column(Integer)
    verify: Mapped[str] = mapped_column(CleanString(20))
    secret: Mapped[str | None] = mapped_column(CleanText)  # sealed (:mod:`.sealed`, 0006)
    mode: Mapped[str] = mapped_column(CleanString(10))
    sync_timeout_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(CleanString(300))


class DeliveryRow(Base):
    """One request received on a webhook path (accepted, duplicate or rejected)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
        Index("ix_webhook_deliveries_execution_id", "execution_id"),
    )

    id: Mapped[str] = mapped_column(CleanString(32), primary_key=True)
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="SET NULL"))
    path: Mapped[str] = mapped_column(CleanString(100))
    received_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(CleanString(20))
    query_string: Mapped[str] = mapped_column(CleanText)
    headers: Mapped[list[list[str]]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_size: Mapped[int] = mapped_column(BigInteger)
    body_truncated: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(CleanString(20))
    reason: Mapped[str | None] = mapped_column(CleanText)
    idempotency_key: Mapped[str | None] = mapped_column(CleanString(300))
    execution_id: Mapped[str | None] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="SET NULL")
    )


class IdempotencyKeyRow(Base):
    """The first execution a webhook started for an idempotency key (or a provider's
    delivery id); the primary key makes concurrent duplicates start one execution."""

    __tablename__ = "idempotency_keys"

    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(CleanString(300), primary_key=True)
    execution_id: Mapped[str] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)


class ScheduleRow(Base):
    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_paused_next_fire_at", "paused", "next_fire_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(CleanString(200))
    name: Mapped[str] = mapped_column(CleanString(200))
    version: Mapped[int | None] = mapped_column(Integer)
    cron: Mapped[str] = mapped_column(CleanString(200))
    timezone: Mapped[str] = mapped_column(CleanString(100))
    input: Mapped[dict[str, Any]] = mapped_column(JSON)  # secrets redacted
    # The input with its secrets, sealed, when ``input`` had some redacted (0006).
    sealed_input: Mapped[str | None] = mapped_column(Text)
    paused: Mapped[bool] = mapped_column(Boolean)
    next_fire_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    last_fire_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(CleanString(300))


class ScheduleFireRow(Base):
    """A fire time of a schedule that was run. The unique constraint on
    ``(schedule_id, fire_time)`` is what makes a fire time run at most once, however many
    server processes tick at the same moment."""

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("schedule_id", "fire_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    fire_time: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    execution_id: Mapped[str | None] = mapped_column(
        CleanString(32), ForeignKey("executions.id", ondelete="SET NULL")
    )
    fired_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean)
    missed: Mapped[int] = mapped_column(Integer)


# --- retention (migration 0008) --------------------------------------------------------------


class RetentionPolicyRow(Base):
    """How long one kind of data is kept (:mod:`runtree.store.retention`).

    ``kind`` is ``executions``, ``deliveries`` or ``audit``. For executions ``namespace`` is a
    namespace or ``*`` (every namespace without a policy of its own) and ``function`` a
    function name or ``""`` (the whole namespace); deliveries and audit entries have one
    policy each, ``("*", "")``. ``keep_days`` and ``keep_last`` are limits (``NULL``: none);
    a policy with neither keeps everything.
    """

    __tablename__ = "retention_policies"
    __table_args__ = (UniqueConstraint("kind", "namespace", "function"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(CleanString(20))
    namespace: Mapped[str] = mapped_column(CleanString(200))
    function: Mapped[str] = mapped_column(CleanString(200))
    keep_days: Mapped[int | None] = mapped_column(Integer)
    keep_last: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(CleanString(300))


class WorkerRow(Base):
    """A process that runs executions (``runtree worker``, or ``runtree serve`` with its
    dispatcher), as it last reported itself: the Workers page and ``runtree workers``. Its
    ``heartbeat_at`` is renewed while it lives; a row whose heartbeat stopped is a lost
    worker (its executions are settled through the job queue, see :mod:`.jobs`)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(CleanString(200), primary_key=True)
    kind: Mapped[str] = mapped_column(CleanString(20), nullable=False)
    host: Mapped[str] = mapped_column(CleanString(255), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    slots: Mapped[int] = mapped_column(Integer, nullable=False)
    queues: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    started_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime, nullable=False)
    heartbeat_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime, nullable=False)
    stopping: Mapped[bool] = mapped_column(Boolean, nullable=False)
