"""Retention: how long executions, webhook deliveries and audit entries are kept, and
pruning what the policies let go.

**Policies** (admin only, each change audited as ``retention.set`` / ``retention.unset``):

- executions, per function (``NS/NAME``), per namespace (``NS``) or for every namespace
  without a policy of its own (``*``): ``keep_days`` -- executions queued more than N days
  ago go -- and/or ``keep_last`` -- only the newest N executions of each function stay. Both
  are limits: an execution goes when either lets it go. The most specific policy applies, as
  a whole (a function's policy replaces its namespace's); a policy with neither limit keeps
  everything (to exempt one function from its namespace's policy).
- webhook deliveries and audit entries: ``keep_days`` each, for every namespace. The audit
  log is kept longest: an audit period shorter than another period is refused.

Without any policy -- a fresh install -- everything is kept.

**Never pruned**: executions that are queued or running, and executions that a pending
(queued or running) replay names; deliveries whose execution is pending.

**Pruning** (:func:`prune`, run by ``runtree prune``, ``POST /api/v1/retention/prune`` and
every few minutes by :class:`~runtree.service.pruner.Pruner` inside ``runtree serve``) works in
small batches, each its own short write transaction, pausing between them at least as long
as the batch took, so the API's own writes never wait long. An execution with more rows than
a batch holds is removed over several transactions (its steps first, the execution last); a
reader in between may see it with part of its steps. On SQLite, free pages then go back to
the file system (``PRAGMA incremental_vacuum``) when the database has
``auto_vacuum=INCREMENTAL``: new databases do; an older one needs one ``VACUUM``
(``runtree storage --vacuum``) before it can, and until then reuses the space it freed.

One module per concept, all exported here:

* :mod:`.policies` -- targets, checking and changing policies, which policy applies;
* :mod:`.pruning` -- a pruning pass: its pacing, its batches, its report and audit;
* :mod:`.storage_report` -- what each namespace and function stores (``runtree storage``).
"""

from .policies import (
    MAX_KEEP_DAYS,
    MAX_KEEP_LAST,
    Target,
    describe,
    list_policies,
    parse_target,
    period,
    policy_for,
    remove_policy,
    set_policy,
)
from .pruning import (
    BATCH_EXECUTIONS,
    BATCH_ROWS,
    MIN_PAUSE_S,
    VACUUM_PAGES,
    Pacing,
    Pruned,
    PruneObserver,
    prune,
)
from .storage_report import storage

__all__ = [
    "BATCH_EXECUTIONS",
    "BATCH_ROWS",
    "MAX_KEEP_DAYS",
    "MAX_KEEP_LAST",
    "MIN_PAUSE_S",
    "VACUUM_PAGES",
    "Pacing",
    "PruneObserver",
    "Pruned",
    "Target",
    "describe",
    "list_policies",
    "parse_target",
    "period",
    "policy_for",
    "prune",
    "remove_policy",
    "set_policy",
    "storage",
]
