"""The audit log."""

from __future__ import annotations

import datetime
from typing import Any

from ...models import (
    AuditRecord,
)
from .base import ResponseModel, from_record


class AuditOut(ResponseModel):
    id: int
    at: datetime.datetime
    actor: str
    action: str
    target: str
    namespace: str | None
    details: dict[str, Any]


class AuditPage(ResponseModel):
    """Audit entries, newest first; pass ``next_cursor`` as ``cursor`` for the next page."""

    entries: list[AuditOut]
    next_cursor: int | None


def audit_out(record: AuditRecord) -> AuditOut:
    return from_record(AuditOut, record)
