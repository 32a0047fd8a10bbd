"""Webhooks, their deliveries, and the answer of ``POST /hooks/{path}``."""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from ...models import (
    DeliveryRecord,
    ExecutionRecord,
    WebhookRecord,
)
from .base import FUNCTION_PATTERN, MAX_VERSION, RequestModel, ResponseModel, from_record
from .executions import ExecutionBrief, execution_brief

Verify = Literal["none", "github", "stripe", "slack", "hmac-sha256"]


Mode = Literal["sync", "async"]


class WebhookRequest(RequestModel):
    """A new webhook: ``POST /hooks/{path}`` will start ``function``."""

    function: str = Field(
        pattern=FUNCTION_PATTERN,
        max_length=201,
        description="namespace/name, or name in namespace default.",
    )
    path: str = Field(max_length=100, description="The path under /hooks/ (one segment).")
    verify: Verify = "none"
    secret: str | None = Field(
        default=None,
        max_length=1000,
        description="The signing secret (stripe, slack: the one the provider issued). "
        "github and hmac-sha256 without one get a random secret, returned once.",
    )
    mode: Mode = "async"
    version: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VERSION,
        description="Pin a version (default: the latest at each call).",
    )
    sync_timeout_s: float | None = Field(
        default=None,
        gt=0,
        le=300,
        description="sync mode: how long to wait for the output before answering 202.",
    )


class WebhookOut(ResponseModel):
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


class WebhookList(ResponseModel):
    webhooks: list[WebhookOut]


class DeliveryOut(ResponseModel):
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
        default=None,
        description="The execution it started (for a duplicate: the first "
        "one of its idempotency key), with its status.",
    )
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
        default_factory=list, description="Replays of its execution, newest first."
    )


class DeliveryReplayRequest(RequestModel):
    """Replay a delivery: ``version`` of the function to run it against (default: the version
    that ran it, with the same versions of the functions it called)."""

    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class DeliveryPage(ResponseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None


class HookAccepted(ResponseModel):
    """A delivery whose execution has not finished (async mode, or sync past its wait)."""

    execution_id: str
    status: str
    duplicate: bool


def webhook_out(record: WebhookRecord) -> WebhookOut:
    return from_record(
        WebhookOut, record, url_path=f"/hooks/{record.path}", function=record.qualified_name
    )


def webhook_created(record: WebhookRecord, secret: str | None) -> WebhookCreated:
    return from_record(
        WebhookCreated,
        record,
        url_path=f"/hooks/{record.path}",
        function=record.qualified_name,
        secret=secret,
    )


def delivery_out(
    record: DeliveryRecord, executions: Mapping[str, ExecutionRecord] | None = None
) -> DeliveryOut:
    """The delivery; with ``executions`` (by id), the one it started with its status."""
    execution = (executions or {}).get(record.execution_id or "")
    return from_record(DeliveryOut, record, execution=execution_brief(execution))


def delivery_detail(
    record: DeliveryRecord,
    execution: ExecutionRecord | None = None,
    replays: Sequence[ExecutionRecord] = (),
) -> DeliveryDetail:
    try:
        text: str | None = record.body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return from_record(
        DeliveryDetail,
        record,
        body_base64=base64.b64encode(record.body).decode("ascii"),
        body=text,
        execution=execution_brief(execution),
        replays=[execution_brief(r) for r in replays],
    )
