"""Compare two executions: load both trees and diff them (:mod:`.tree_diff`), and the JSON
document the API returns and ``runtree compare --json`` prints."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..models import ExecutionRecord, StepRecord
from ..store import NotFoundError, Store
from ..timestamps import rfc3339
from .tree_diff import Row, Side, TreeDiff, diff_trees


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionComparison:
    a: ExecutionRecord
    b: ExecutionRecord
    diff: TreeDiff


def compare_records(
    a: ExecutionRecord, steps_a: list[StepRecord], b: ExecutionRecord, steps_b: list[StepRecord]
) -> ExecutionComparison:
    """Compare two executions already read (pure)."""
    return ExecutionComparison(a=a, b=b, diff=diff_trees(steps_a, steps_b))


def compare_executions(store: Store, a_id: str, b_id: str) -> ExecutionComparison:
    """Both executions' trees aligned and diffed; :class:`NotFoundError` for an unknown id.
    Access is the caller's business (both must be readable)."""
    records = []
    for execution_id in (a_id, b_id):
        record = store.get_execution(execution_id)
        if record is None:
            raise NotFoundError("execution", execution_id)
        records.append(record)
    return compare_records(records[0], store.get_steps(a_id), records[1], store.get_steps(b_id))


def _side(side: Side | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "id": side.id,
        "status": side.status,
        "function": side.function,
        "version": side.version,
        "duration_ns": side.duration_ns,
        "self_ns": side.self_ns,
        "error": side.error,
    }


def _run(record: ExecutionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "function": record.qualified_name,
        "version": record.version,
        "versions": record.versions,
        "status": str(record.status),
        "duration_ms": record.duration_ms,
        "started_at": None if record.started_at is None else rfc3339(record.started_at),
    }


def row_document(row: Row) -> dict[str, Any]:
    return {
        "index": row.index,
        "parent": row.parent,
        "depth": row.depth,
        "name": row.name,
        "kind": row.kind,
        "a": _side(row.a),
        "b": _side(row.b),
        "status_changed": row.status_changed,
        "error": row.error,
        "inputs": [
            {"key": c.key, "change": c.change, "a": c.a, "b": c.b, "redacted": c.redacted}
            for c in row.inputs
        ],
        "output_changed": row.output_changed,
        "version_changed": row.version_changed,
        "aggregates": [dataclasses.asdict(g) for g in row.aggregates],
        "total_ratio": row.total_ratio,
        "self_ratio": row.self_ratio,
    }


def comparison_document(comparison: ExecutionComparison) -> dict[str, Any]:
    """The comparison as JSON-ready data: both runs, the rows in call order, the first
    divergence (row index, why, and its call path) and counts of rows by kind."""
    diff = comparison.diff
    first = diff.first_divergence
    return {
        "a": _run(comparison.a),
        "b": _run(comparison.b),
        "identical": diff.identical,
        "first_divergence": None
        if first is None
        else {
            "row": first,
            "reason": diff.reason,
            "path": diff.path(first),
        },
        "counts": diff.counts,
        "rows": [row_document(row) for row in diff.rows],
    }
