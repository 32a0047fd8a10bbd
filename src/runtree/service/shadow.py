"""Shadow replay: run a stored version against the recorded inputs of the current one before
it goes live, report what differs, and promote a version to current.

``runtree deploy --shadow N`` stores the new version without making it current and starts a
**shadow report**: the last ``N`` replayable runs that used the current version -- runs of
the function itself, and runs of other functions of the namespace that pinned it (their calls
reach it by bare name) -- are queued again with the new version in its place, as executions
with trigger ``shadow``, network off whatever the version's settings say. A run is
replayable when it finished (succeeded or failed) and its input is complete: runtree does
not keep secret inputs past a run, so runs whose input was redacted are skipped, and the
report says how many and why. The report compares each pair (:mod:`.shadow_verdicts`);
``promote`` makes a version current, and with ``require_clean`` only when the latest report
of that version finished with every input ``same``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import InputError, InputProblem, ShadowNotClean
from ..models import ExecutionRecord, ShadowReportRecord, Trigger, VersionRecord
from ..store import AuditEntry, NotFoundError, RunSpec, Store
from ..timestamps import rfc3339
from .executions import contains_redactions
from .shadow_verdicts import (
    SLOWER_MIN_MS,
    SLOWER_RATIO,
    VERDICTS,
    Comparison,
    compare_run,
    error_text,
)

DEFAULT_SHADOW_RUNS = 20
MAX_SHADOW_RUNS = 200
SECRET_INPUT = "secret_input"
SKIP_REASONS = {
    SECRET_INPUT: "its input held secrets, which runtree does not keep after a run",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Promotion:
    """The outcome of :func:`promote`: the function's current version before and after."""

    function: str
    previous: int | None
    current: int

    @property
    def changed(self) -> bool:
        return self.previous != self.current


def check_runs(runs: int) -> int:
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= MAX_SHADOW_RUNS:
        raise InputError(
            [InputProblem("shadow", f"must be a number of runs from 1 to {MAX_SHADOW_RUNS}")]
        )
    return runs


def _skip_reason(record: ExecutionRecord) -> str | None:
    return SECRET_INPUT if contains_redactions(record.input) else None


def start_shadow(
    store: Store,
    version: VersionRecord,
    baseline: VersionRecord,
    runs: int,
    *,
    created_by: str | None,
    audit: AuditEntry | None = None,
) -> tuple[ShadowReportRecord, list[ExecutionRecord]]:
    """Queue shadow runs of ``version`` for the last ``runs`` replayable inputs of
    ``baseline`` (the current version) and create their report. The caller notifies a
    dispatcher, if there is one."""
    check_runs(runs)
    recorded, skipped = store.recorded_runs(
        baseline.namespace, baseline.name, baseline.number, limit=runs, skip=_skip_reason
    )
    entries: dict[int, VersionRecord | None] = {version.id: version, baseline.id: version}
    specs: list[RunSpec] = []
    for original in recorded:
        if original.version_id not in entries:
            entries[original.version_id] = store.get_version_by_id(original.version_id)
        entry = entries[original.version_id]
        if entry is None:  # pragma: no cover - versions are never deleted
            continue
        specs.append(
            RunSpec(
                version=entry,
                input=original.input,
                versions={
                    **original.versions,
                    original.name: entry.number,
                    version.name: version.number,
                },
                trigger=Trigger.SHADOW,
                replay_of=original.id,
            )
        )
    return store.create_shadow_report(
        version=version,
        baseline_version=baseline.number,
        requested=runs,
        skipped=[{"execution_id": r.id, "reason": reason} for r, reason in skipped],
        runs=specs,
        created_by=created_by,
        audit=audit,
    )


def require_report(store: Store, report_id: str) -> ShadowReportRecord:
    report = store.get_shadow_report(report_id)
    if report is None:
        raise NotFoundError("shadow-report", report_id)
    return report


def latest_report(store: Store, namespace: str, name: str, number: int) -> ShadowReportRecord:
    """The newest report of version ``number``; :class:`NotFoundError` when there is none."""
    reports = store.list_shadow_reports(namespace, name, version=number, limit=1)
    if not reports:
        raise NotFoundError("shadow-report", f"{namespace}/{name} v{number}")
    return reports[0]


def compare_report(store: Store, report: ShadowReportRecord) -> list[Comparison]:
    """Every run of ``report`` against the run it replayed, in the order they were queued."""
    runs = store.shadow_runs(report.id)
    originals = store.get_executions([r.replay_of for r in runs if r.replay_of])
    comparisons = []
    for run in runs:
        original = originals.get(run.replay_of or "")
        if original is None:  # deleted since (retention): nothing left to compare with
            continue
        shadow_steps = store.get_steps(run.id) if run.finished else []
        comparisons.append(compare_run(original, store.get_steps(original.id), run, shadow_steps))
    return comparisons


def report_document(store: Store, report: ShadowReportRecord) -> dict[str, Any]:
    """The report as JSON-ready data: what ``GET /api/v1/shadow-reports/{id}`` answers and
    ``runtree shadow --json`` prints."""
    comparisons = compare_report(store, report)
    function = store.get_function(report.namespace, report.name)
    counts = dict.fromkeys(VERDICTS, 0)
    for comparison in comparisons:
        counts[comparison.verdict] += 1
    finished = counts["pending"] == 0
    skipped_counts: dict[str, int] = {}
    for entry in report.skipped:
        reason = str(entry.get("reason"))
        skipped_counts[reason] = skipped_counts.get(reason, 0) + 1
    return {
        "id": report.id,
        "function": report.qualified_name,
        "namespace": report.namespace,
        "name": report.name,
        "version": report.version,
        "baseline_version": report.baseline_version,
        "current_version": None if function is None else function.current_version,
        "requested": report.requested,
        "created_at": rfc3339(report.created_at),
        "created_by": report.created_by,
        "status": "finished" if finished else "running",
        "clean": finished and bool(comparisons) and counts["same"] == len(comparisons),
        "replayed": len(comparisons),
        "counts": counts,
        "skipped": [
            {**entry, "why": SKIP_REASONS.get(str(entry.get("reason")), "")}
            for entry in report.skipped
        ],
        "skipped_counts": skipped_counts,
        "slower_rule": {"ratio": SLOWER_RATIO, "min_ms": SLOWER_MIN_MS},
        "network": False,
        "runs": [_run_document(c) for c in comparisons],
    }


def _side(execution: ExecutionRecord, call_ms: float | None) -> dict[str, Any]:
    return {
        "id": execution.id,
        "function": execution.qualified_name,
        "version": execution.version,
        "versions": execution.versions,
        "status": str(execution.status),
        "duration_ms": execution.duration_ms,
        "call_ms": call_ms,
        "output": execution.output,
        "error": error_text(execution),
    }


def _run_document(comparison: Comparison) -> dict[str, Any]:
    tree = comparison.tree
    return {
        "verdict": comparison.verdict,
        "input": comparison.recorded.input,
        "recorded": _side(comparison.recorded, comparison.recorded_ms),
        "shadow": _side(comparison.shadow, comparison.shadow_ms),
        "time_ratio": comparison.time_ratio,
        "tree": None
        if tree is None
        else {
            "changed": tree.changed,
            "added": tree.added,
            "removed": tree.removed,
            "first_divergence": None
            if tree.first_path is None
            else {"path": tree.first_path, "reason": tree.first_reason},
        },
    }


def not_clean_reason(store: Store, namespace: str, name: str, number: int) -> str | None:
    """Why version ``number`` may not be promoted with ``--require-clean`` (``None``: it
    may): its latest shadow report must exist, compare with the current version, have
    finished, have replayed at least one input, and found every one ``same``."""
    try:
        report = latest_report(store, namespace, name, number)
    except NotFoundError:
        return f"v{number} has no shadow report: deploy it with --shadow first"
    function = store.get_function(namespace, name)
    current = None if function is None else function.current_version
    if report.baseline_version != current:
        return (
            f"its latest shadow report ({report.id}) replayed runs of v{report.baseline_version}, "
            f"but v{current} is current now: deploy it again with --shadow"
        )
    document = report_document(store, report)
    if document["status"] != "finished":
        pending = document["counts"]["pending"]
        return f"its latest shadow report ({report.id}) has not finished ({pending} runs to go)"
    if not document["runs"]:
        return f"its latest shadow report ({report.id}) replayed no recorded input"
    if not document["clean"]:
        found = ", ".join(
            f"{count} {verdict.replace('_', ' ')}"
            for verdict, count in document["counts"].items()
            if count and verdict != "same"
        )
        return f"its latest shadow report ({report.id}) found differences: {found}"
    return None


def promote(
    store: Store, namespace: str, name: str, number: int, *, require_clean: bool = False
) -> Promotion:
    """Make version ``number`` current (:class:`ShadowNotClean` when ``require_clean`` and
    the version's latest shadow report is not clean; nothing changes then)."""
    store.require_version(namespace, name, number)
    if require_clean:
        reason = not_clean_reason(store, namespace, name, number)
        if reason is not None:
            raise ShadowNotClean(f"{namespace}/{name}", number, reason)
    previous = store.set_current_version(namespace, name, number)
    return Promotion(function=f"{namespace}/{name}", previous=previous, current=number)
