"""Request and response bodies of the access-control, audit, webhook and schedule endpoints."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..models import (
    ApiKeyRecord,
    AuditRecord,
    DeliveryRecord,
    ExecutionRecord,
    Role,
    ScheduleFireRecord,
    ScheduleRecord,
    WebhookRecord,
)
from ..service.access import Principal
from ..service.schedules import describe, next_fire_after
from .schemas import MAX_VERSION

FUNCTION_PATTERN = r"^(\w+/)?\w+$"
Verify = Literal["none", "github", "stripe", "slack", "hmac-sha256"]
Mode = Literal["sync", "async"]
RoleName = Literal["admin", "developer", "runner", "viewer"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- keys and audit -------------------------------------------------------------------------


class KeyRequest(_Request):
    """A new API key. ``namespace`` limits it to one namespace (not for admin keys)."""

    role: RoleName
    namespace: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200, description="A label for people.")


class KeyOut(_Out):
    """An API key as listed: never the key itself, only its public ``prefix``."""

    prefix: str
    name: str | None
    role: Role
    namespace: str | None
    created_at: datetime.datetime
    created_by: str | None
    revoked_at: datetime.datetime | None


class KeyCreated(KeyOut):
    """A key just created: ``key`` is shown this once and never again."""

    key: str


class KeyList(_Out):
    keys: list[KeyOut]


class WhoAmI(_Out):
    """The caller, as the server sees it."""

    role: Role
    namespace: str | None
    actor: str
    key_prefix: str | None


class AuditOut(_Out):
    id: int
    at: datetime.datetime
    actor: str
    action: str
    target: str
    namespace: str | None
    details: dict[str, Any]


class AuditPage(_Out):
    """Audit entries, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""

    entries: list[AuditOut]
    next_cursor: int | None


# --- webhooks -------------------------------------------------------------------------------


class ExecutionBrief(_Out):
    """An execution a delivery or a schedule started, as a list shows it."""

    id: str
    function: str
    version: int
    trigger: str
    status: str
    queued_at: datetime.datetime
    duration_ms: int | None


class WebhookRequest(_Request):
    """A new webhook: ``POST /hooks/{path}`` will start ``function``."""

    function: str = Field(pattern=FUNCTION_PATTERN, max_length=201,
                          description="namespace/name, or name in namespace default.")
    path: str = Field(max_length=100, description="The path under /hooks/ (one segment).")
    verify: Verify = "none"
    secret: str | None = Field(
        default=None, max_length=1000,
        description="The signing secret (stripe, slack: the one the provider issued). "
        "github and hmac-sha256 without one get a random secret, returned once.",
    )
    mode: Mode = "async"
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="Pin a version (default: the latest at each call).")
    sync_timeout_s: float | None = Field(
        default=None, gt=0, le=300,
        description="sync mode: how long to wait for the output before answering 202.",
    )


class WebhookOut(_Out):
    """A webhook (its secret is never returned)."""

    path: str
    url_path: str = Field(description="Where to POST: /hooks/{path}.")
    function: str
    namespace: str
    name: str
    version: int | None
    verify: Verify
    mode: Mode
    sync_timeout_s: float
    created_at: datetime.datetime
    created_by: str | None


class WebhookCreated(WebhookOut):
    """``secret`` is set only when the server generated it (shown this once)."""

    secret: str | None = None


class WebhookList(_Out):
    webhooks: list[WebhookOut]


class DeliveryOut(_Out):
    """A request received on a webhook path."""

    id: str
    path: str
    received_at: datetime.datetime
    method: str
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None
    idempotency_key: str | None
    execution_id: str | None
    execution: ExecutionBrief | None = Field(
        default=None, description="The execution it started (for a duplicate: the first "
        "one of its idempotency key), with its status.")
    body_size: int


class DeliveryDetail(DeliveryOut):
    """A delivery with its headers (secret ones redacted) and raw body: ``body_base64`` is
    the body byte for byte; ``body`` the same as text when it is UTF-8."""

    query_string: str
    headers: list[list[str]]
    body_base64: str
    body: str | None
    body_truncated: bool
    replays: list[ExecutionBrief] = Field(
        default_factory=list, description="Replays of its execution, newest first.")


class DeliveryReplayRequest(_Request):
    """Replay a delivery: ``version`` of the function to run it against (default: the version
    that ran it, with the same versions of the functions it called)."""

    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class DeliveryPage(_Out):
    deliveries: list[DeliveryOut]
    next_cursor: str | None


class HookAccepted(_Out):
    """A delivery whose execution has not finished (async mode, or sync past its wait)."""

    execution_id: str
    status: str
    duplicate: bool


# --- schedules ------------------------------------------------------------------------------


class ScheduleRequest(_Request):
    function: str = Field(pattern=FUNCTION_PATTERN, max_length=201,
                          description="namespace/name, or name in namespace default.")
    cron: str = Field(max_length=200, description="Five-field cron: minute hour day month "
                      "weekday (e.g. 0 3 * * *).")
    timezone: str = Field(default="UTC", max_length=100,
                          description="IANA time zone the cron fields are read in.")
    input: dict[str, Any] = Field(default_factory=dict, description="Arguments by name.")
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class ScheduleOut(_Out):
    id: int
    function: str
    namespace: str
    name: str
    version: int | None
    cron: str
    description: str
    timezone: str
    input: dict[str, Any]
    paused: bool
    next_fire_at: datetime.datetime
    upcoming: list[datetime.datetime] = Field(
        default_factory=list, description="The next fire times (UTC; none while paused).")
    last_fire_at: datetime.datetime | None
    created_at: datetime.datetime
    created_by: str | None


class FireOut(_Out):
    """A fire time that ran: ``late`` when well after its time, ``missed`` earlier fire
    times skipped for it (the server was down)."""

    fire_time: datetime.datetime
    execution_id: str | None
    execution: ExecutionBrief | None = None
    fired_at: datetime.datetime
    late: bool
    missed: int


class ScheduleDetail(ScheduleOut):
    fires: list[FireOut]


class ScheduleList(_Out):
    schedules: list[ScheduleOut]


# --- records to responses -------------------------------------------------------------------


def key_fields(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "prefix": record.prefix,
        "name": record.name,
        "role": record.role,
        "namespace": record.namespace,
        "created_at": record.created_at,
        "created_by": record.created_by,
        "revoked_at": record.revoked_at,
    }


def key_out(record: ApiKeyRecord) -> KeyOut:
    return KeyOut.model_validate(key_fields(record))


def key_created(key: str, record: ApiKeyRecord) -> KeyCreated:
    return KeyCreated.model_validate({**key_fields(record), "key": key})


def whoami_out(principal: Principal) -> WhoAmI:
    return WhoAmI(role=principal.role, namespace=principal.namespace, actor=principal.actor,
                  key_prefix=principal.key_prefix)


def audit_out(record: AuditRecord) -> AuditOut:
    return AuditOut(id=record.id, at=record.at, actor=record.actor, action=record.action,
                    target=record.target, namespace=record.namespace, details=record.details)


def webhook_fields(record: WebhookRecord) -> dict[str, Any]:
    return {
        "path": record.path,
        "url_path": f"/hooks/{record.path}",
        "function": record.qualified_name,
        "namespace": record.namespace,
        "name": record.name,
        "version": record.version,
        "verify": record.verify,
        "mode": record.mode,
        "sync_timeout_s": record.sync_timeout_s,
        "created_at": record.created_at,
        "created_by": record.created_by,
    }


def webhook_out(record: WebhookRecord) -> WebhookOut:
    return WebhookOut.model_validate(webhook_fields(record))


def webhook_created(record: WebhookRecord, secret: str | None) -> WebhookCreated:
    return WebhookCreated.model_validate({**webhook_fields(record), "secret": secret})


def delivery_fields(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "path": record.path,
        "received_at": record.received_at,
        "method": record.method,
        "status": record.status,
        "reason": record.reason,
        "idempotency_key": record.idempotency_key,
        "execution_id": record.execution_id,
        "body_size": record.body_size,
    }


def execution_brief(record: ExecutionRecord | None) -> ExecutionBrief | None:
    if record is None:
        return None
    return ExecutionBrief(
        id=record.id, function=record.qualified_name, version=record.version,
        trigger=str(record.trigger), status=str(record.status), queued_at=record.queued_at,
        duration_ms=record.duration_ms,
    )


def delivery_out(
    record: DeliveryRecord, executions: Mapping[str, ExecutionRecord] | None = None
) -> DeliveryOut:
    """The delivery; with ``executions`` (by id), the one it started with its status."""
    execution = (executions or {}).get(record.execution_id or "")
    return DeliveryOut.model_validate(
        {**delivery_fields(record), "execution": execution_brief(execution)}
    )


def delivery_detail(
    record: DeliveryRecord,
    execution: ExecutionRecord | None = None,
    replays: Sequence[ExecutionRecord] = (),
) -> DeliveryDetail:
    try:
        text: str | None = record.body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return DeliveryDetail.model_validate({
        **delivery_fields(record),
        "query_string": record.query_string,
        "headers": record.headers,
        "body_base64": base64.b64encode(record.body).decode("ascii"),
        "body": text,
        "body_truncated": record.body_truncated,
        "execution": execution_brief(execution),
        "replays": [execution_brief(r) for r in replays],
    })


UPCOMING_FIRES = 5


def upcoming_fires(record: ScheduleRecord) -> list[datetime.datetime]:
    """The schedule's next fire times from ``next_fire_at`` on (none while it is paused)."""
    if record.paused:
        return []
    fires = [record.next_fire_at]
    while len(fires) < UPCOMING_FIRES:
        fires.append(next_fire_after(record.cron, record.timezone, fires[-1]))
    return fires


def schedule_fields(record: ScheduleRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "function": record.qualified_name,
        "namespace": record.namespace,
        "name": record.name,
        "version": record.version,
        "cron": record.cron,
        "description": describe(record.cron),
        "timezone": record.timezone,
        "input": record.input,
        "paused": record.paused,
        "next_fire_at": record.next_fire_at,
        "upcoming": upcoming_fires(record),
        "last_fire_at": record.last_fire_at,
        "created_at": record.created_at,
        "created_by": record.created_by,
    }


def schedule_out(record: ScheduleRecord) -> ScheduleOut:
    return ScheduleOut.model_validate(schedule_fields(record))


def fire_out(
    record: ScheduleFireRecord, executions: Mapping[str, ExecutionRecord] | None = None
) -> FireOut:
    execution = (executions or {}).get(record.execution_id or "")
    return FireOut(fire_time=record.fire_time, execution_id=record.execution_id,
                   execution=execution_brief(execution), fired_at=record.fired_at,
                   late=record.late, missed=record.missed)


def schedule_detail(
    record: ScheduleRecord,
    fires: list[ScheduleFireRecord],
    executions: Mapping[str, ExecutionRecord] | None = None,
) -> ScheduleDetail:
    return ScheduleDetail.model_validate(
        {**schedule_fields(record), "fires": [fire_out(f, executions) for f in fires]}
    )
