"""Who may do what, and what they did: API key roles and permissions, keys, audit entries."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Any


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
