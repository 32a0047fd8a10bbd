"""Steps of many runs summed up by call path: what flame graphs and performance blame are
built from. Pure (no I/O).

A **call path** is the chain of step names from the root, with *direct* recursion collapsed
(``fib → fib → fib`` is the one path ``fib``), so a deep recursion is one path and not
thousands; mutual recursion is bounded by the step budget. Paths are interned
(:class:`PathTable`: each path is its parent's id plus a name), so memory stays linear in
the number of steps however deep the tree.

Per run and path: the **own time** of its steps summed (see :func:`.explore.self_times`),
the **total time** of its outermost steps summed (a collapsed recursion counts once), the
number of calls, and whether a step on it failed by itself (raised there rather than passed
on from a recorded child: ``error.from_step`` is unset).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..models import ExecutionRecord, StepStatus, StepSummary
from .explore import self_times


class PathTable:
    """Interned call paths: id 0 is the empty path (above the roots)."""

    def __init__(self) -> None:
        self._ids: dict[tuple[int, str], int] = {}
        self.parent: list[int] = [-1]
        self.name: list[str] = [""]
        self.function: list[str | None] = [None]

    def child(self, parent: int, name: str, function: str | None) -> int:
        key = (parent, name)
        found = self._ids.get(key)
        if found is None:
            found = len(self.name)
            self._ids[key] = found
            self.parent.append(parent)
            self.name.append(name)
            self.function.append(function)
        return found

    def names(self, path: int) -> list[str]:
        """The names from the root down to ``path``."""
        chain: list[str] = []
        while path > 0:
            chain.append(self.name[path])
            path = self.parent[path]
        chain.reverse()
        return chain

    def chain(self, path: int) -> list[int]:
        """Path ids from the root down to ``path``."""
        ids: list[int] = []
        while path > 0:
            ids.append(path)
            path = self.parent[path]
        ids.reverse()
        return ids

    def find(self, names: Sequence[str]) -> int | None:
        """The id of the path with these names, if any run had it."""
        path = 0
        for name in names:
            found = self._ids.get((path, name))
            if found is None:
                return None
            path = found
        return path if names else None

    def __len__(self) -> int:
        return len(self.name)


@dataclasses.dataclass(slots=True)
class PathRun:
    """One path in one run (mutable while summing; read-only after)."""

    self_ns: int = 0
    total_ns: int = 0
    calls: int = 0
    failed: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Run:
    """One execution and its steps (summaries: no payloads)."""

    execution: ExecutionRecord
    steps: Sequence[StepSummary]


def fails_itself(step: StepSummary) -> bool:
    """The step failed by raising, not by passing on a recorded child's exception."""
    if step.status != StepStatus.FAILED:
        return False
    return not (step.error or {}).get("from_step")


def sum_paths(table: PathTable, run: Run) -> dict[int, PathRun]:
    """Per path id (interned in ``table``), this run's sums (see the module docstring).
    Unfinished steps (no duration) count as calls, with no time."""
    own = self_times(run.steps)
    path_of: dict[int, int] = {}
    sums: dict[int, PathRun] = {}
    for step in sorted(run.steps, key=lambda s: s.sequence):
        parent_path = 0 if step.parent_id is None else path_of.get(step.parent_id, 0)
        if parent_path and table.name[parent_path] == step.name:
            path = parent_path  # direct recursion: the same frame
        else:
            path = table.child(parent_path, step.name, step.function)
        path_of[step.id] = path
        entry = sums.get(path)
        if entry is None:
            entry = sums[path] = PathRun()
        entry.calls += 1
        entry.self_ns += own.get(step.id, 0)
        if path != parent_path and step.duration_ns is not None:
            entry.total_ns += step.duration_ns
        if fails_itself(step):
            entry.failed = True
    return sums


def sum_runs(table: PathTable, runs: Iterable[Run]) -> list[dict[int, PathRun]]:
    """:func:`sum_paths` of every run, in order."""
    return [sum_paths(table, run) for run in runs]
