"""API keys and ``whoami``."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import Field

from ...models import (
    ApiKeyRecord,
    Role,
)
from ...service.access import Principal
from .base import RequestModel, ResponseModel, from_record

RoleName = Literal["admin", "developer", "runner", "viewer"]


class KeyRequest(RequestModel):
    """A new API key. ``namespace`` limits it to one namespace (not for admin keys)."""

    role: RoleName
    namespace: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=200, description="A label for people.")


class KeyOut(ResponseModel):
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


class KeyList(ResponseModel):
    keys: list[KeyOut]


class WhoAmI(ResponseModel):
    """The caller, as the server sees it."""

    role: Role
    namespace: str | None
    actor: str
    key_prefix: str | None


def key_out(record: ApiKeyRecord) -> KeyOut:
    return from_record(KeyOut, record)


def key_created(key: str, record: ApiKeyRecord) -> KeyCreated:
    return from_record(KeyCreated, record, key=key)


def whoami_out(principal: Principal) -> WhoAmI:
    return from_record(WhoAmI, principal)
