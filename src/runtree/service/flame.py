"""Flame graphs of many runs, and the differential flame graph of two sets of runs. Pure.

A node is a call path (:mod:`.call_paths`: direct recursion collapsed). Its **own** time is
its steps' own time summed over the runs; its **value** (the width it is drawn with) is the
own time of its whole subtree, so children always fit inside their parent even when they
ran concurrently. Counts: calls and the runs that reached it.

The **differential** graph puts both sides on the same tree, per run (means over each
side's runs, so 20 runs compare with 50): width is the larger of the two values, colour is
the change of own time per run (``change`` = (new - old) / max(old, new), from -1 faster to
+1 slower; ``None`` where the path ran on one side only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .call_paths import PathRun, PathTable, Run, sum_runs

MAX_NODES = 5000


@dataclasses.dataclass(slots=True)
class _Totals:
    self_ns: int = 0
    calls: int = 0
    runs: int = 0


def _totals(sums: list[dict[int, PathRun]]) -> dict[int, _Totals]:
    totals: dict[int, _Totals] = {}
    for run in sums:
        for path, entry in run.items():
            total = totals.get(path)
            if total is None:
                total = totals[path] = _Totals()
            total.self_ns += entry.self_ns
            total.calls += entry.calls
            total.runs += 1
    return totals


def _preorder(table: PathTable, paths: set[int], weight: dict[int, float]) -> list[int]:
    """Path ids in depth-first order, heaviest sibling first (iterative)."""
    children: dict[int, list[int]] = {}
    for path in paths:
        children.setdefault(table.parent[path], []).append(path)
    order: list[int] = []
    stack = sorted(children.get(0, []), key=lambda p: (weight.get(p, 0), -p))
    while stack:
        path = stack.pop()
        order.append(path)
        stack.extend(sorted(children.get(path, []), key=lambda p: (weight.get(p, 0), -p)))
    return order


def _inclusive(table: PathTable, paths: set[int], own: dict[int, float]) -> dict[int, float]:
    value = {path: own.get(path, 0.0) for path in paths}
    # Children have larger ids than their parents (interned after them): add bottom-up.
    for path in sorted(paths, reverse=True):
        parent = table.parent[path]
        if parent in value:
            value[parent] += value[path]
    return value


def _node(table: PathTable, path: int, index: dict[int, int]) -> dict[str, Any]:
    return {
        "id": index[path],
        "parent": index.get(table.parent[path]),
        "name": table.name[path],
        "function": table.function[path],
    }


def flame_graph(runs: Sequence[Run]) -> dict[str, Any]:
    """``{"runs": n, "total_ns", "nodes": [...]}``: nodes in depth-first order (heaviest
    first), each with ``id``, ``parent`` (``None`` for roots), ``name``, ``function``,
    ``self_ns``, ``value_ns`` (own time of its subtree), ``calls``, ``runs``; at most
    :data:`MAX_NODES` (the lightest are left out; ``truncated`` says so)."""
    table = PathTable()
    totals = _totals(sum_runs(table, runs))
    paths = set(totals)
    value = _inclusive(table, paths, {p: float(t.self_ns) for p, t in totals.items()})
    order = _preorder(table, paths, value)
    kept = _keep(table, order, value)
    index = {path: i for i, path in enumerate(kept)}
    nodes = [
        {
            **_node(table, path, index),
            "self_ns": totals[path].self_ns,
            "value_ns": int(value[path]),
            "calls": totals[path].calls,
            "runs": totals[path].runs,
        }
        for path in kept
    ]
    roots = [p for p in paths if table.parent[p] == 0]
    return {
        "runs": len(runs),
        "total_ns": int(sum(value[p] for p in roots)),
        "truncated": len(kept) < len(order),
        "nodes": nodes,
    }


def _keep(table: PathTable, order: list[int], value: dict[int, float]) -> list[int]:
    if len(order) <= MAX_NODES:
        return order
    heaviest = set(sorted(order, key=lambda p: -value[p])[:MAX_NODES])
    # A kept node's ancestors are at least as heavy, so they are kept too.
    return [
        p for p in order if p in heaviest and (table.parent[p] == 0 or table.parent[p] in heaviest)
    ]


def flame_diff(old_runs: Sequence[Run], new_runs: Sequence[Run]) -> dict[str, Any]:
    """``{"old_runs", "new_runs", "nodes": [...]}`` (see the module docstring): nodes as in
    :func:`flame_graph`, with per-run means ``old_self_ns``, ``new_self_ns``,
    ``old_value_ns``, ``new_value_ns``, ``old_calls``, ``new_calls`` (calls per run),
    ``old_runs``, ``new_runs`` (runs that reached the path), ``change`` and ``value_ns``
    (the drawn width)."""
    table = PathTable()
    old = _totals(sum_runs(table, old_runs))
    new = _totals(sum_runs(table, new_runs))
    paths = set(old) | set(new)
    n_old, n_new = max(1, len(old_runs)), max(1, len(new_runs))
    old_own = {p: t.self_ns / n_old for p, t in old.items()}
    new_own = {p: t.self_ns / n_new for p, t in new.items()}
    old_value = _inclusive(table, paths, old_own)
    new_value = _inclusive(table, paths, new_own)
    width = {p: max(old_value[p], new_value[p]) for p in paths}
    order = _preorder(table, paths, width)
    kept = _keep(table, order, width)
    index = {path: i for i, path in enumerate(kept)}
    nodes = []
    for path in kept:
        before, after = old.get(path), new.get(path)
        a, b = old_own.get(path, 0.0), new_own.get(path, 0.0)
        change = None
        if before is not None and after is not None:
            change = 0.0 if max(a, b) == 0 else (b - a) / max(a, b)
        nodes.append(
            {
                **_node(table, path, index),
                "old_self_ns": round(a),
                "new_self_ns": round(b),
                "old_value_ns": round(old_value[path]),
                "new_value_ns": round(new_value[path]),
                "value_ns": round(width[path]),
                "old_calls": 0.0 if before is None else before.calls / n_old,
                "new_calls": 0.0 if after is None else after.calls / n_new,
                "old_runs": 0 if before is None else before.runs,
                "new_runs": 0 if after is None else after.runs,
                "change": change,
            }
        )
    return {
        "old_runs": len(old_runs),
        "new_runs": len(new_runs),
        "truncated": len(kept) < len(order),
        "nodes": nodes,
    }
