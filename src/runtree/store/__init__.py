"""Persistence: functions, versions, executions and their steps, in SQLite or PostgreSQL.

Open a :class:`Store` with a database URL (default ``sqlite:///runtree.db``); the schema is
migrated on open. Every method returns the plain records of :mod:`runtree.models`.
"""

from ..models import (
    ExecutionRecord,
    ExecutionStatus,
    FunctionRecord,
    PayloadKind,
    RecoveryReport,
    StepRecord,
    StepStatus,
    Trigger,
    VersionRecord,
)
from .access import AuditEntry
from .engine import DEFAULT_URL, normalize_url
from .errors import ConflictError, InvalidDataError, NotFoundError, StoreError
from .store import Store
from .triggers import DeliveryData, RunSpec

__all__ = [
    "DEFAULT_URL",
    "AuditEntry",
    "ConflictError",
    "DeliveryData",
    "ExecutionRecord",
    "ExecutionStatus",
    "FunctionRecord",
    "InvalidDataError",
    "NotFoundError",
    "PayloadKind",
    "RecoveryReport",
    "RunSpec",
    "StepRecord",
    "StepStatus",
    "Store",
    "StoreError",
    "Trigger",
    "VersionRecord",
    "normalize_url",
]
