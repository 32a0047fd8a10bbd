"""What starts executions besides a person: webhooks, their deliveries, schedules and
their fires."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any


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
