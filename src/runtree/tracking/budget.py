"""The fair step budget: which calls still become steps once the budget runs short.

A recording keeps at most ``step_budget`` steps. Spent first come, first served, one hot
function would take them all and a later error would vanish into a count. So the budget has
two parts (README, "Step budget"):

* the **general pool** (``step_budget - reserve``): every call is a step while it lasts;
* the **reserve** (``step_budget // RESERVE_DIVISOR``): once the pool is spent, a call is
  still a step, paid from the reserve, when it

  - is among the first :data:`FAIR_SHARE` reserve-paid calls of its *call path* (the chain of
    function names from the root, recursion collapsed: ``main > fib > fib`` is ``main > fib``);
  - crosses into another module (in the platform: another deployed function);
  - fails (raises, whether caught later or not): it and every aggregated caller between it and
    the nearest step become steps -- the path to the error -- for the first
    :data:`FAIR_SHARE` errors of each call path.

  A step made under an aggregated caller *promotes* that caller and its aggregated callers
  (each promoted call costs one reserve step); promoted calls have no captured inputs (they
  began past the budget) and say so in a warning.

Calls deeper than ``max_depth`` are never steps. Every other call is *aggregated* under its
true parent (:class:`~.records.Aggregate`): counted, timed, its errors counted, exactly.

Memory is bounded whatever the number of calls: steps by the budget, call paths and aggregate
rows by caps of ``step_budget`` nodes each (past a cap, a new path counts as its caller's, and
a new aggregate row under an aggregated caller counts in the caller's row).
"""

from __future__ import annotations

from typing import Any

from .capture import NOTHING
from .records import AGGREGATED_ID, Aggregate

FAIR_SHARE = 3  # reserve-paid steps (and error paths) per call path
RESERVE_DIVISOR = 5  # the reserve is step_budget // 5

PROMOTED_WARNING = (
    "kept past the step budget (an error or a kept call passed through it): its inputs were "
    "not captured, and its duration is an upper bound when it was nested in a running call "
    "of its own aggregate row"
)


class CallPath:
    """One call path of a recording: a node of the tree of function names from the root."""

    __slots__ = ("children", "errors_kept", "kept", "meta", "parent")

    def __init__(self, meta: Any, parent: CallPath | None) -> None:
        self.meta = meta
        self.parent = parent
        self.children: dict[Any, CallPath] = {}
        self.kept = 0  # steps paid from the reserve on this path
        self.errors_kept = 0  # error paths kept (promoted) on this path


def child_path(node: CallPath, meta: Any, rec: Any) -> CallPath:
    """The path of a call of ``meta`` made on path ``node`` (recursion collapsed)."""
    found = node.children.get(meta)
    if found is not None:
        return found
    ancestor: CallPath | None = node
    while ancestor is not None and ancestor.meta is not meta:
        ancestor = ancestor.parent
    if ancestor is not None:
        found = ancestor  # a recursive call: the path of its outer call
    elif rec.paths_left > 0:
        rec.paths_left -= 1
        found = CallPath(meta, node)
    else:
        found = node  # past the cap: counted as its caller's path
    node.children[meta] = found
    return found


def path_of(record: list[Any], rec: Any) -> CallPath:
    """The call path of a running record (found once, then kept at position 14)."""
    path: CallPath | None = record[14]
    if path is not None:
        return path
    pending = []
    node = record
    while node[14] is None:
        pending.append(node)
        node = node[1]
    path = node[14]
    assert path is not None
    for waiting in reversed(pending):
        path = waiting[14] = child_path(path, waiting[0], rec)
    return path


def crosses_module(parent: list[Any], meta: Any) -> bool:
    """Whether a call of ``meta`` from ``parent`` goes into another module (the root's
    children do not: they are where the recording starts)."""
    caller = parent[0]
    return caller is not None and caller[1] != meta[1]


def aggregate_row(parent: list[Any], meta: Any, rec: Any) -> Aggregate:
    """The row a call of ``meta`` past the budget is counted in, under its true parent."""
    if parent[3] == AGGREGATED_ID:
        row: Aggregate = parent[4]
        children = row.children
        if children is not None:
            found = children.get(meta)
            if found is not None:
                return found
        else:
            children = row.children = {}
        ancestor: Aggregate | None = row
        while ancestor is not None and ancestor.meta is not meta:
            ancestor = ancestor.parent
        if ancestor is not None:
            found = ancestor  # recursion collapsed
        elif rec.rows_left > 0:
            rec.rows_left -= 1
            found = Aggregate(meta, row)
        else:
            return row  # past the cap: counted in the caller's row (not cached: it is a miss)
        children[meta] = found
        return found
    extra = parent[11]
    if extra is None:
        extra = parent[11] = {}
    rows = extra.get("aggregates")
    if rows is None:
        rows = extra["aggregates"] = {}
    found = rows.get(meta)
    if found is None:
        found = rows[meta] = Aggregate(meta)
        rec.rows_left -= 1
    return found


def promote(record: list[Any], rec: Any, extra_cost: int) -> bool:
    """Make the aggregated ``record`` and its aggregated callers steps, outermost first, if
    the reserve pays for them and ``extra_cost`` more steps. Their rows stop counting them."""
    chain = []
    node = record
    while node[3] == AGGREGATED_ID:
        chain.append(node)
        node = node[1]
    if len(chain) + extra_cost > rec.reserve_left or record[2] > rec.max_depth:
        return False
    rec.reserve_left -= len(chain)
    for call in reversed(chain):
        row: Aggregate = call[4]
        row.count -= 1
        row.active -= 1
        call[3] = next(rec.ids)
        call[4] = "running"
        call[6] = call[13]  # a plain call: the return hook's fast path applies
        call[8] = ()
        call[9] = NOTHING
        call[11] = {"warnings": [PROMOTED_WARNING]}
        rec.records[call[3]] = call
    return True
