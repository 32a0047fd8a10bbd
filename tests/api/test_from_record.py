"""``from_record``: response models filled from records' attributes (pydantic's
``from_attributes``), with the members a record names otherwise given explicitly."""

from __future__ import annotations

import dataclasses
import datetime

from runtree.api.schemas import ExecutionDetail, StepOut, execution_detail
from runtree.api.schemas.base import ResponseModel, from_record
from runtree.models import (
    STEP_FIELDS,
    ExecutionRecord,
    ExecutionStatus,
    StepRecord,
    StepStatus,
    Trigger,
)


class _Pair(ResponseModel):
    left: int
    right: str


@dataclasses.dataclass
class _Record:
    left: int
    right: str


def test_fields_come_from_attributes_and_explicit_ones_take_their_place() -> None:
    record = _Record(left=1, right="record")
    assert from_record(_Pair, record) == _Pair(left=1, right="record")
    assert from_record(_Pair, record, right="given") == _Pair(left=1, right="given")


def _step(**changes: object) -> StepRecord:
    values: dict[str, object] = {
        "id": 1,
        "parent_id": None,
        "sequence": 1,
        "depth": 0,
        "name": "main",
        "filename": "f.py",
        "lineno": 3,
        "function": "ns/f",
        "version": 2,
        "status": StepStatus.FAILED,
        "started_at_ns": 10,
        "duration_ns": 5,
        "inputs": {"x": {"preview": 1, "size": 1, "format": "json"}},
        "output": None,
        "error": {"type": "ValueError", "message": "no", "kept": True},
        "stdout": "hi\n",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [{"name": "g", "count": 2, "total_ns": 4, "errors": 0}],
        "generator": None,
    }
    values.update(changes)
    return StepRecord(execution_id="e" * 32, extra={"newer": 1}, **values)  # type: ignore[arg-type]


def test_execution_detail_reads_nested_step_records_like_their_documents() -> None:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    record = ExecutionRecord(
        id="e" * 32,
        function_id=1,
        version_id=1,
        namespace="ns",
        name="f",
        version=2,
        trigger=Trigger.API,
        status=ExecutionStatus.FAILED,
        input={"x": 1},
        output=None,
        error={"type": "ValueError", "message": "no", "step_id": 1},
        versions={"ns/f": 2},
        queued_at=now,
        started_at=now,
        finished_at=now,
        duration_ms=1,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )
    step = _step()
    detail = execution_detail(record, [step])
    assert detail.function == "ns/f"
    assert detail.steps == [StepOut.model_validate(step.to_dict())]
    assert tuple(detail.steps[0].model_dump()) == (*STEP_FIELDS, "kind", "io")
    assert detail.steps[0].error is not None
    assert detail.steps[0].error.model_dump()["kept"] is True  # extra members are kept
    assert isinstance(detail, ExecutionDetail)
