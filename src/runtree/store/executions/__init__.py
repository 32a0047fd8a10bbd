"""Executions: queueing, claiming, finishing, cancelling, listing, crash recovery.

Plain functions over an open :class:`~sqlalchemy.orm.Session` inside a *write* transaction
where they change anything (``BEGIN IMMEDIATE`` on SQLite, see :mod:`..engine`). Rows are
locked with ``SELECT ... FOR UPDATE`` before they change (SQLite ignores the clause; its
write lock already serializes writers), and every status change is guarded by the status it
expects, so one execution is never claimed twice nor finished twice.

One module per step of an execution's life, all exported here:

* :mod:`.enqueue` -- queueing an execution;
* :mod:`.private_inputs` -- the unredacted input kept, sealed, until the execution ends;
* :mod:`.claims` -- the queue's side: what is queued, claiming, requeueing;
* :mod:`.ends` -- finishing, cancelling, crash recovery, interrupting running steps;
* :mod:`.lost_jobs` -- settling the job of a worker found dead;
* :mod:`.lookup` -- reading executions, and locking their rows.

The statements of the hot paths (queue, claim, finish) are built once, at import -- building
a statement costs about as much as running it -- and on tables rather than ORM entities,
whose machinery costs more than these statements do. Their parameters are bound by name.
"""

from .claims import (
    claim_execution,
    claim_for_job,
    claim_next,
    claim_next_execution,
    count_queued,
    has_queued,
    requeue_execution,
)
from .ends import (
    CANCELLED_ERROR,
    CRASHED_ERROR,
    finish_execution,
    interrupt_running_steps,
    recover,
    request_cancel,
)
from .enqueue import enqueue_execution, queued_in_one_statement
from .lookup import execution_status, get_execution, get_executions, list_replays, locked_row
from .lost_jobs import WORKER_LOST_ERROR, settle_lost_job
from .private_inputs import PRIVATE_INPUT_FIELD, private_input

__all__ = [
    "CANCELLED_ERROR",
    "CRASHED_ERROR",
    "PRIVATE_INPUT_FIELD",
    "WORKER_LOST_ERROR",
    "claim_execution",
    "claim_for_job",
    "claim_next",
    "claim_next_execution",
    "count_queued",
    "enqueue_execution",
    "execution_status",
    "finish_execution",
    "get_execution",
    "get_executions",
    "has_queued",
    "interrupt_running_steps",
    "list_replays",
    "locked_row",
    "private_input",
    "queued_in_one_statement",
    "recover",
    "request_cancel",
    "requeue_execution",
    "settle_lost_job",
]
