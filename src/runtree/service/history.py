"""A function's recent runs, read for the analyses across runs: the flame graph of a version
(or a time range), the differential flame graph of two, and performance blame between two
versions (:mod:`.flame`, :mod:`.blame`)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from ..models import ExecutionRecord
from ..store import NotFoundError, Store
from .blame import blame, report_document
from .call_paths import Run
from .explore import MAX_STATS_STEPS, RATE_STATUSES
from .flame import flame_diff, flame_graph

DEFAULT_RUNS = 50
MAX_RUNS = 200
_PAGE = 200


@dataclasses.dataclass(frozen=True, slots=True)
class Selection:
    """Which runs of a function: of one ``version`` (else all versions), created in
    ``[since, until)``, the newest ``runs`` of those that finished (succeeded, failed, timed
    out or crashed)."""

    version: int | None = None
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    runs: int = DEFAULT_RUNS

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "runs": self.runs,
        }


def _check_function(store: Store, namespace: str, name: str, *versions: int | None) -> int:
    function = store.get_function(namespace, name)
    if function is None:
        raise NotFoundError("function", f"{namespace}/{name}")
    current = function.current_version or 0
    for number in versions:
        if number is not None and not 1 <= number <= current:
            raise NotFoundError("version", f"{namespace}/{name} v{number}")
    return current


def load_runs(store: Store, namespace: str, name: str, selection: Selection) -> list[Run]:
    """The selected runs with their step summaries, newest first; reading stops before a
    run that would take the steps read past :data:`MAX_STATS_STEPS` (the first is always
    read)."""
    wanted = max(1, min(selection.runs, MAX_RUNS))
    records: list[ExecutionRecord] = []
    cursor: str | None = None
    while len(records) < wanted:
        page, cursor = store.search_executions(
            namespace=namespace,
            name=name,
            version=selection.version,
            since=selection.since,
            until=selection.until,
            limit=_PAGE,
            cursor=cursor,
        )
        records.extend(r for r in page if r.status in RATE_STATUSES and r.started_at)
        if cursor is None:
            break
    runs: list[Run] = []
    steps_read = 0
    for record in records[:wanted]:
        steps = store.get_step_summaries(record.id)
        if runs and steps_read + len(steps) > MAX_STATS_STEPS:
            break
        steps_read += len(steps)
        runs.append(Run(execution=record, steps=steps))
    return runs


def flame_document(store: Store, namespace: str, name: str, selection: Selection) -> dict[str, Any]:
    """The flame graph of the selected runs (:func:`.flame.flame_graph`), with what was
    selected; :class:`NotFoundError` for an unknown function or version."""
    _check_function(store, namespace, name, selection.version)
    runs = load_runs(store, namespace, name, selection)
    return {
        "function": f"{namespace}/{name}",
        "selection": selection.describe(),
        **flame_graph(runs),
    }


def flame_diff_document(
    store: Store, namespace: str, name: str, old: Selection, new: Selection
) -> dict[str, Any]:
    """The differential flame graph from the ``old`` runs to the ``new`` ones."""
    _check_function(store, namespace, name, old.version, new.version)
    old_runs = load_runs(store, namespace, name, old)
    new_runs = load_runs(store, namespace, name, new)
    return {
        "function": f"{namespace}/{name}",
        "old": old.describe(),
        "new": new.describe(),
        **flame_diff(old_runs, new_runs),
    }


def default_versions(
    store: Store, namespace: str, name: str, from_version: int | None, to_version: int | None
) -> tuple[int, int]:
    """``to``: the given version, else the current one; ``from``: the given one, else the
    newest older version that has runs (else the one just before ``to``)."""
    current = _check_function(store, namespace, name, from_version, to_version)
    to = to_version or current
    if from_version is not None:
        return from_version, to
    counts = store.version_status_counts(namespace, name)
    older = [v for v, statuses in counts.items() if v < to and any(statuses.values())]
    return (max(older) if older else max(1, to - 1)), to


def blame_document(
    store: Store,
    namespace: str,
    name: str,
    *,
    from_version: int | None = None,
    to_version: int | None = None,
    runs: int = DEFAULT_RUNS,
) -> dict[str, Any]:
    """Performance blame of ``namespace/name`` from one version to another (see
    :mod:`.blame`; defaults in :func:`default_versions`), over the newest ``runs`` finished
    runs of each, with the source hunks of the functions on each flagged path."""
    before, after = default_versions(store, namespace, name, from_version, to_version)
    old_runs = load_runs(store, namespace, name, Selection(version=before, runs=runs))
    new_runs = load_runs(store, namespace, name, Selection(version=after, runs=runs))
    sources: dict[tuple[str, int], str] = {}
    for group in (old_runs, new_runs):
        for run in group:
            for function, version in run.execution.versions.items():
                key = (f"{run.execution.namespace}/{function}", version)
                if key not in sources:
                    record = store.get_version(run.execution.namespace, function, version)
                    if record is not None:
                        sources[key] = record.source
    report = blame(old_runs, new_runs, sources)
    return {
        "function": f"{namespace}/{name}",
        "from_version": before,
        "to_version": after,
        **report_document(report),
    }
