"""Retention policies, pruning reports and storage sizes."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import Field

from ...models import RetentionPolicyRecord
from .base import RequestModel, ResponseModel, from_record

Kind = Literal["executions", "deliveries", "audit"]


class RetentionRequest(RequestModel):
    """Set (create or replace) one policy. ``target`` (executions only): ``*`` or absent for
    every namespace without a policy of its own, ``NS`` or ``NS/NAME``. ``keep_days``:
    older data goes; ``keep_last`` (executions): only the newest N per function stay; for
    executions neither limit means keep everything."""

    kind: Kind = "executions"
    target: str | None = Field(default=None, max_length=401)
    keep_days: int | None = None
    keep_last: int | None = None


class RetentionPolicyOut(ResponseModel):
    kind: Kind
    target: str
    namespace: str
    function: str
    keep_days: int | None
    keep_last: int | None
    updated_at: datetime.datetime
    updated_by: str | None


class RetentionPolicies(ResponseModel):
    """Every policy; what has none is kept."""

    policies: list[RetentionPolicyOut]


def retention_policy_out(record: RetentionPolicyRecord) -> RetentionPolicyOut:
    return from_record(RetentionPolicyOut, record)


class PruneRequest(RequestModel):
    dry_run: bool = Field(default=False, description="Only say what would go.")


class PrunedFunction(ResponseModel):
    namespace: str
    function: str
    policy: str
    keep_days: int | None
    keep_last: int | None
    executions: int
    steps: int
    payload_bytes: int | None = Field(description="Stored serialized values (dry runs only).")


class PrunedDeliveries(ResponseModel):
    keep_days: int | None
    count: int
    body_bytes: int | None = Field(description="Their bodies (dry runs only).")


class PrunedAudit(ResponseModel):
    keep_days: int | None
    count: int


class PruneTotals(ResponseModel):
    executions: int
    steps: int
    payload_bytes: int | None


class PruneReport(ResponseModel):
    """What would go (``dry_run``) or went, per function; deliveries and audit entries."""

    dry_run: bool
    functions: list[PrunedFunction]
    deliveries: PrunedDeliveries
    audit: PrunedAudit
    totals: PruneTotals
    reclaimed_bytes: int = Field(description="SQLite: bytes given back to the file system.")


class FunctionStorage(ResponseModel):
    function: str
    executions: int
    steps: int
    payload_bytes: int
    policy: str | None
    keep_days: int | None
    keep_last: int | None


class NamespaceStorage(ResponseModel):
    namespace: str
    executions: int
    steps: int
    payload_bytes: int
    functions: list[FunctionStorage]


class DeliveryStorage(ResponseModel):
    count: int
    body_bytes: int
    keep_days: int | None


class AuditStorage(ResponseModel):
    count: int
    keep_days: int | None


class DatabaseStorage(ResponseModel):
    backend: Literal["sqlite", "postgresql"]
    size_bytes: int
    free_bytes: int | None
    auto_vacuum: str | None


class StorageReport(ResponseModel):
    """Sizes per namespace and function, the deliveries, the audit log, the database."""

    namespaces: list[NamespaceStorage]
    deliveries: DeliveryStorage
    audit: AuditStorage
    database: DatabaseStorage
