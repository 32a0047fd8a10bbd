"""Retention in the store: policies, what they select, and deleting it in short transactions.

Plain functions over a session. Selection never picks an execution that is ``queued`` or
``running``, nor one that a pending (queued or running) replay names in ``replay_of``; it is
checked again in the transaction that deletes, so an execution that became such meanwhile
is skipped.

:func:`delete_execution_data` is the one place that knows every table holding data of an
execution (:data:`EXECUTION_DATA`): pruning, and anything else that deletes executions, goes
through it.

One module per concept, all exported here:

* :mod:`.policies` -- the policies' rows: listing, setting, removing;
* :mod:`.prunable` -- which executions a policy lets go, and which still may go;
* :mod:`.deletion` -- every per-execution table, and deleting executions in row budgets;
* :mod:`.usage` -- the rows and bytes executions hold (what pruning frees, what is stored);
* :mod:`.old_entries` -- webhook deliveries and audit entries past their period;
* :mod:`.sqlite_space` -- a SQLite file's free pages, and giving them back.
"""

from .deletion import EXECUTION_DATA, Deleted, ExecutionData, delete_execution_data
from .old_entries import (
    AUDIT_TABLE,
    DELIVERIES_TABLE,
    count_and_bytes,
    delete_some,
    old_audit_entries,
    old_deliveries,
)
from .policies import delete_policy, list_policies, set_policy
from .prunable import functions_with_executions, id_floor, prunable_query, still_prunable
from .sqlite_space import FileSpace, file_space, incremental_vacuum
from .usage import Usage, usage_by_function, usage_of

__all__ = [
    "AUDIT_TABLE",
    "DELIVERIES_TABLE",
    "EXECUTION_DATA",
    "Deleted",
    "ExecutionData",
    "FileSpace",
    "Usage",
    "count_and_bytes",
    "delete_execution_data",
    "delete_policy",
    "delete_some",
    "file_space",
    "functions_with_executions",
    "id_floor",
    "incremental_vacuum",
    "list_policies",
    "old_audit_entries",
    "old_deliveries",
    "prunable_query",
    "set_policy",
    "still_prunable",
    "usage_by_function",
    "usage_of",
]
