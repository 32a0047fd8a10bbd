"""Every place that spells out a step's fields follows ``runtree.models.STEP_FIELDS``."""

from __future__ import annotations

import dataclasses

import runtree
from runtree.api.schemas.executions import StepOut
from runtree.execution.protocol import Step as ProtocolStep
from runtree.models import STEP_FIELDS, StepRecord, StepStatus
from runtree.store.schema import StepRow
from runtree.store.step_codec import KNOWN_KEYS
from tests.conftest import load_module


def test_record_holds_the_step_fields_between_its_execution_and_extra() -> None:
    names = tuple(field.name for field in dataclasses.fields(StepRecord))
    assert names == ("execution_id", *STEP_FIELDS, "extra")


def test_protocol_and_api_models_declare_the_step_fields_in_order() -> None:
    # Then the keys of I/O steps (tracking/io_steps.py), which the store keeps in ``extra``.
    assert tuple(ProtocolStep.model_fields) == (*STEP_FIELDS, "kind", "io")
    assert tuple(StepOut.model_fields) == (*STEP_FIELDS, "kind", "io")


def test_store_keeps_every_other_key_as_extra() -> None:
    assert frozenset(STEP_FIELDS) == KNOWN_KEYS
    columns = set(StepRow.__table__.columns.keys())
    stored_as_payloads = {"inputs", "output"}
    assert set(STEP_FIELDS) - stored_as_payloads <= columns


def test_tracking_step_dict_has_every_field_but_function() -> None:
    namespace = load_module("def add(a, b):\n    return a + b\n")
    with runtree.record() as recording:
        namespace["add"](1, 2)
    (step,) = recording.to_dict()["steps"]
    assert tuple(step) == tuple(field for field in STEP_FIELDS if field != "function")


def test_record_to_dict_puts_extra_keys_first_and_status_as_text() -> None:
    values = {field: None for field in STEP_FIELDS}
    record = StepRecord(
        execution_id="e",
        **{**values, "status": StepStatus.COMPLETED},  # type: ignore[arg-type]
        extra={"newer": 1},
    )
    document = record.to_dict()
    assert tuple(document) == ("newer", *STEP_FIELDS)
    assert document["status"] == "completed"
    assert type(document["status"]) is str
