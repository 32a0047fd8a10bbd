"""Synthetic step trees for the comparison tests: nested tuples ``(name, inputs, children)``
turned into :class:`StepRecord` lists as a run would record them."""

from __future__ import annotations

from typing import Any

from runtree.models import StepRecord, StepStatus

Node = tuple[str, dict[str, Any], list[Any]]


def captured(value: Any) -> dict[str, Any]:
    return {"preview": value, "size": 8, "format": "pickle", "truncated": False, "redacted": False}


def make_step(
    step_id: int,
    parent: int | None,
    depth: int,
    name: str,
    *,
    inputs: dict[str, Any] | None = None,
    output: Any = None,
    status: StepStatus = StepStatus.COMPLETED,
    error: dict[str, Any] | None = None,
    start: int = 0,
    duration: int | None = 1000,
    version: int | None = 1,
    function: str | None = "default/f",
    execution: str = "e" * 32,
    aggregates: list[dict[str, Any]] | None = None,
) -> StepRecord:
    return StepRecord(
        execution_id=execution,
        id=step_id,
        parent_id=parent,
        sequence=step_id,
        depth=depth,
        name=name,
        filename=None,
        lineno=None,
        function=function,
        version=version,
        status=status,
        started_at_ns=start,
        duration_ns=duration,
        inputs={k: captured(v) for k, v in (inputs or {}).items()},
        output=None if status != StepStatus.COMPLETED else captured(output),
        error=error,
        stdout="",
        stdout_truncated=False,
        warnings=[],
        aggregates=aggregates or [],
        generator=None,
    )


def build(roots: list[Node], *, failing: set[str] | None = None) -> list[StepRecord]:
    """Steps of a tree given as nested ``(name, inputs, children)``, ids in call order,
    each step lasting 1 µs per step in its subtree; names in ``failing`` fail (with
    their ancestors)."""
    steps: list[StepRecord] = []
    failing = failing or set()

    def walk(node: Node, parent: int | None, depth: int, start: int) -> tuple[int, bool]:
        name, inputs, children = node
        index = len(steps)
        steps.append(make_step(index + 1, parent, depth, name))  # placeholder
        clock = start + 100
        failed = name in failing
        for child in children:
            clock, child_failed = walk(child, index + 1, depth + 1, clock)
            failed = failed or child_failed
        status = StepStatus.FAILED if failed else StepStatus.COMPLETED
        error = {"type": "ValueError", "message": name} if failed else None
        steps[index] = make_step(
            index + 1,
            parent,
            depth,
            name,
            inputs=inputs,
            output=None if failed else name,
            status=status,
            error=error,
            start=start,
            duration=clock + 100 - start,
        )
        return clock + 100, failed

    clock = 0
    for root in roots:
        clock, _ = walk(root, None, 0, clock)
    return steps
