"""Execution and step records for the OpenTelemetry tests, and a store that serves them."""

from __future__ import annotations

import datetime
from typing import Any

from runtree.models import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus, Trigger

EXECUTION_ID = "0195f1a2b3c4d5e6f708192a3b4c5d6e"
T0 = 1_764_900_000_123_456_789  # ns since the epoch
STARTED = datetime.datetime.fromtimestamp(T0 // 1000 / 1e6, tz=datetime.UTC)


def execution(
    execution_id: str = EXECUTION_ID,
    status: ExecutionStatus = ExecutionStatus.SUCCEEDED,
    *,
    duration_ms: int = 50,
    **fields: Any,
) -> ExecutionRecord:
    finished = STARTED + datetime.timedelta(milliseconds=duration_ms)
    values: dict[str, Any] = {
        "id": execution_id,
        "function_id": 1,
        "version_id": 1,
        "namespace": "shop",
        "name": "orders",
        "version": 3,
        "trigger": Trigger.API,
        "status": status,
        "input": {"customer_id": 42},
        "output": None,
        "error": None,
        "versions": {"orders": 3},
        "queued_at": STARTED,
        "started_at": STARTED,
        "finished_at": finished,
        "duration_ms": duration_ms,
        "cancel_requested": False,
        "worker_id": None,
        "replay_of": None,
    }
    values.update(fields)
    return ExecutionRecord(**values)


def step(
    step_id: int,
    parent_id: int | None,
    start: int,
    duration: int | None,
    execution_id: str = EXECUTION_ID,
    **fields: Any,
) -> StepRecord:
    values: dict[str, Any] = {
        "execution_id": execution_id,
        "id": step_id,
        "parent_id": parent_id,
        "sequence": step_id,
        "depth": 0 if parent_id is None else 1,
        "name": f"s{step_id}",
        "filename": "shop/orders.py",
        "lineno": 10 + step_id,
        "function": "shop/orders",
        "version": 3,
        "status": StepStatus.COMPLETED,
        "started_at_ns": T0 + start,
        "duration_ns": duration,
        "inputs": {},
        "output": None,
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }
    values.update(fields)
    return StepRecord(**values)


class FakeStore:
    """``get_execution`` and ``get_steps`` of the executions it was given."""

    def __init__(self) -> None:
        self.executions: dict[str, tuple[ExecutionRecord, list[StepRecord]]] = {}

    def add(self, record: ExecutionRecord, steps: list[StepRecord]) -> ExecutionRecord:
        self.executions[record.id] = (record, steps)
        return record

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        found = self.executions.get(execution_id)
        return None if found is None else found[0]

    def get_steps(self, execution_id: str) -> list[StepRecord]:
        return list(self.executions[execution_id][1])
