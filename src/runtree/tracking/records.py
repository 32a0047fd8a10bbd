"""The raw record of one call: the representation the hot path writes.

A record is a **list while the call runs** and becomes a **tuple when it finishes**, with the
same field positions (below). Lists are cheap to build in one instruction and to update by
index; finished tuples hold only plain values (ids instead of parent references, no frames),
so the cyclic garbage collector stops scanning them after one pass. With ten thousand steps
per recording, keeping finished steps out of the collector's way is a large share of the
per-call cost (see bench/tracking_overhead.py).

Field positions (``R_*``; the hot path in :mod:`.runtime` uses the literal numbers):

====  ==========  ===============================  =========================================
 #    name        running (list)                   finished (tuple)
====  ==========  ===============================  =========================================
 0    META        the function's meta tuple        same
 1    PARENT      the parent's record              the parent's id (``None`` at the top)
 2    DEPTH       0 for top-level calls            same
 3    ID          1, 2, ... (0: the root, -1: an   same
                  aggregated call, see below)
 4    STATUS      ``running`` or ``failed``        final status
 5    T0          ``perf_counter_ns()`` at start   same
 6    FAST        the frame of a plain call (else  the duration in ns
                  None: the hooks' slow path)
 7    GEN         a generator's or coroutine's     None
                  frame (can suspend), else None
 8    INPUTS      snapshot of the arguments        same
 9    OUTPUT      snapshot of the return value     same
 10   REC         the Recording                    None
 11   EXTRA       None or a dict (error, stdout,   same
                  warnings, aggregates, yields ...)
 12   RESUMER     a generator's last resumer (a    None
                  coroutine: the Token of its own
                  holder, whose old_value is the
                  enclosing one; its last resumer
                  once left by a driver, see
                  runtime._skip_suspended)
 13   FRAME       the call's frame (identity)      None
 14   PATH        its :class:`~.budget.CallPath`,  None
                  found on first need (else None)
====  ==========  ===============================  =========================================

An *aggregated call* (past the step budget or depth, see :mod:`.budget`) is a list with ID -1,
its :class:`Aggregate` at 4, a failed flag at 8 and its call path at 14; it never finishes
into a tuple, but it can become a step while it runs (:func:`.budget.promote`). The C hooks
keep the address of its interpreter frame (an int) at 13 instead of a frame object, and at 6
too once promoted (``_hooks.c``, "call identity"): Python code compares those fields with
``is`` only, against the object the C hooks hand it.
"""

from __future__ import annotations

from typing import Any

R_META = 0
R_PARENT = 1
R_DEPTH = 2
R_ID = 3
R_STATUS = 4
R_T0 = 5
R_FAST = 6
R_DURATION = 6  # in finished records
R_GEN = 7
R_INPUTS = 8
R_OUTPUT = 9
R_REC = 10
R_EXTRA = 11
R_RESUMER = 12
R_FRAME = 13
R_PATH = 14
RECORD_SIZE = 15

ROOT_ID = 0
AGGREGATED_ID = -1

RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
INTERRUPTED = "interrupted"

Record = list[Any] | tuple[Any, ...]


def extra_of(record: list[Any]) -> dict[str, Any]:
    """The running record's EXTRA dict, created on first use."""
    extra = record[R_EXTRA]
    if extra is None:
        extra = record[R_EXTRA] = {}
    return extra  # type: ignore[no-any-return]


def finished(record: list[Any], status: str, end_ns: int) -> tuple[Any, ...]:
    """The tuple a running record becomes when its call ends."""
    parent = record[R_PARENT]
    return (
        record[R_META],
        parent[R_ID] or None,
        record[R_DEPTH],
        record[R_ID],
        status,
        record[R_T0],
        end_ns - record[R_T0],
        None,
        record[R_INPUTS],
        record[R_OUTPUT],
        None,
        record[R_EXTRA],
        None,
        None,
        None,
    )


class Aggregate:
    """Calls of one function past the step budget or depth, counted under their true parent:
    a step's row (``parent`` None) or, when the caller was aggregated too, a child row of the
    caller's :class:`Aggregate` (recursion collapsed: a call of a function already on the
    row's chain counts in that row). ``count``, ``errors`` and ``total_ns`` are exact; the
    time of nested calls of the same row is not counted twice."""

    __slots__ = ("active", "children", "count", "errors", "meta", "parent", "total_ns")

    def __init__(self, meta: Any, parent: Aggregate | None = None) -> None:
        self.meta = meta
        self.parent = parent
        self.children: dict[Any, Aggregate] | None = None
        self.count = 0
        self.errors = 0
        self.total_ns = 0
        self.active = 0  # aggregated calls in progress: time is added by the outermost one

    @property
    def name(self) -> str:
        return str(self.meta[0])

    def own_children(self) -> list[Aggregate]:
        """The rows of calls made by these calls (not the collapsed recursive ones), less the
        empty ones."""
        return [c for c in (self.children or {}).values() if c.parent is self and not c.is_empty()]

    def is_empty(self) -> bool:
        """No call is counted here or below: every call the row counted was promoted to a
        step (budget.promote). Such a row is left out of every view of the tree."""
        return self.count == 0 and not self.own_children()

    def to_dict(self) -> dict[str, Any]:
        """``name``, ``count``, ``total_ns``, ``errors``, and ``children`` when it has any."""
        data: dict[str, Any] = {
            "name": self.name,
            "count": self.count,
            "total_ns": self.total_ns,
            "errors": self.errors,
        }
        children = self.own_children()
        if children:
            data["children"] = [child.to_dict() for child in children]
        return data

    def __repr__(self) -> str:
        return f"<Aggregate {self.name} ×{self.count}, {self.errors} errors>"
