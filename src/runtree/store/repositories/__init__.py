"""The store's repositories, one per area, all on one shared
:class:`~runtree.store.database.Database`."""

from .access import AccessRepository
from .catalog import FunctionRepository
from .executions import ExecutionRepository
from .queries import QueryRepository
from .retention import RetentionRepository
from .shadow import ShadowRepository
from .steps import StepRepository
from .triggers import TriggerRepository
from .workers import WorkerRepository
from .worlds import WorldRepository

__all__ = [
    "AccessRepository",
    "ExecutionRepository",
    "FunctionRepository",
    "QueryRepository",
    "RetentionRepository",
    "ShadowRepository",
    "StepRepository",
    "TriggerRepository",
    "WorkerRepository",
    "WorldRepository",
]
