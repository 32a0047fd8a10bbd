"""Persistence: functions, versions, executions and their steps, in SQLite or PostgreSQL.

Open a :class:`Store` with a database URL (default ``sqlite:///runtree.db``); the schema is
migrated on open. Every method returns the plain records of :mod:`runtree.models`.
"""

from typing import TYPE_CHECKING

from ..errors import ConflictError, InvalidDataError, NotFoundError, StoreError
from ..lazy_exports import lazy_exports
from ..models import (
    ExecutionRecord,
    ExecutionStatus,
    PayloadKind,
    StepRecord,
    StepStatus,
    Trigger,
)

if TYPE_CHECKING:
    from ..models import FunctionRecord, RecoveryReport, VersionRecord
    from .access import AuditEntry
    from .common import MAX_LIST_LIMIT
    from .engine import DEFAULT_URL, normalize_url
    from .queries import MAX_SEARCH_LENGTH
    from .store import Store
    from .triggers import DeliveryData, RunSpec

# Imported when first used (they import SQLAlchemy; the records of functions, versions and
# recoveries are records that `runtree show` does not need): the errors and records above do not.
lazy_exports(
    __name__,
    {
        "AuditEntry": ".access",
        "MAX_LIST_LIMIT": ".common",
        "DEFAULT_URL": ".engine",
        "normalize_url": ".engine",
        "MAX_SEARCH_LENGTH": ".queries",
        "Store": ".store",
        "DeliveryData": ".triggers",
        "RunSpec": ".triggers",
        "FunctionRecord": "..models",
        "RecoveryReport": "..models",
        "VersionRecord": "..models",
    },
)

__all__ = [
    "DEFAULT_URL",
    "MAX_LIST_LIMIT",
    "MAX_SEARCH_LENGTH",
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
