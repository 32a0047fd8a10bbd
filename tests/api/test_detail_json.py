"""Opening an execution (``GET /executions/{id}``) builds its document without a model per
step (:mod:`runtree.api.schemas.detail_json`): the same bytes as the model path
(``ExecutionDetail``) for every kind of step, read back from SQLite and from PostgreSQL;
a step of a shape the direct build does not cover goes through the model and reads the same
(or fails the same)."""

from __future__ import annotations

import dataclasses
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from runtree.api import create_app
from runtree.api.schemas import ExecutionDetail, StepOut, detail_json, execution_detail
from runtree.api.schemas.detail_json import execution_detail_json, step_document, step_json
from runtree.models import ExecutionRecord, StepRecord, StepStatus
from runtree.settings import Settings
from runtree.store import Store
from tests.store.conftest import PostgresDatabases

from ..store.store_helpers import captured, deploy, make_step
from .conftest import NullDispatcher

SMALL = b"\x80\x05K\x07."
LARGE = b"\x80\x05" + b"x" * 400  # past the inline limit: a payload row of its own
DETAIL = TypeAdapter(ExecutionDetail)


def model_bytes(record: ExecutionRecord, steps: list[StepRecord]) -> bytes:
    """What the route answered through the model (FastAPI serializes ``response_model``)."""
    return DETAIL.dump_json(execution_detail(record, steps), by_alias=True)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'runtree.db'}"
        with Store(url) as opened:
            yield opened
        return
    databases = PostgresDatabases()
    try:
        with Store(databases.create()) as opened:
            yield opened
    finally:
        databases.drop_all()


def every_kind_of_step() -> list[dict[str, Any]]:
    return [
        make_step(
            1,
            inputs={
                "small": captured(7, SMALL, type="int"),
                "big": captured("x" * 20, LARGE, type="str", length=300),
                "secret": captured("<redacted>", None, redacted=True),
                "cut": captured("xx…", SMALL, truncated=True, sha256="ab" * 32, length=9),
                "odd": captured({"é": [1.5, 1e16, -0.0, None, True]}, SMALL, warning="w"),
            },
            output=captured({"k": [1, None], "s": "\u2028\x00\"'<>"}, SMALL, type="dict"),
            stdout="printed é ✓\n",
            warnings=["a warning", "another"],
            aggregates=[
                {
                    "name": "loop",
                    "count": 3,
                    "total_ns": 30,
                    "errors": 1,
                    "children": [{"name": "inner", "count": 2, "total_ns": 5, "errors": 0}],
                }
            ],
        ),
        make_step(
            2,
            parent_id=1,
            generator={"yielded": 2, "first": captured(0, SMALL, type="int")},
            output=None,
        ),
        make_step(  # a generator whose first value is big, inputs small: both kinds of rows
            3,
            parent_id=1,
            generator={"yielded": 1, "first": captured("y" * 30, LARGE)},
        ),
        make_step(
            4,
            parent_id=1,
            status="failed",
            error={
                "type": "ValueError",
                "message": "bad",
                "traceback": [
                    {"filename": "orders.py", "lineno": 3, "name": "f", "line": "raise"},
                    {"name": "g", "locals": {"x": 1}},  # missing fields, an undeclared one
                ],
                "from_step": 5,
                "notes": ["kept"],
            },
            stdout="x" * 100,
            stdout_truncated=True,
        ),
        make_step(5, parent_id=4, status="failed", error={"type": "KeyError"}, inputs={}),
        make_step(  # an I/O step
            6,
            parent_id=1,
            name="GET",
            inputs={
                "method": captured("GET"),
                "url": captured("https://example.com/?token=<redacted>"),
            },
            kind="io",
            io={"method": "GET", "url": "https://example.com/?token=<redacted>", "status": 200},
        ),
        make_step(7, parent_id=1, kind="io", io={"method": "POST", "url": "https://x/"}),
        make_step(8, parent_id=1, future_key={"a": 1}, version=[("default/orders"), 1]),
        make_step(9, parent_id=1, status="running", inputs={"only_big": captured(1, LARGE)}),
        make_step(10, parent_id=1, status="interrupted", output=captured(None)),
    ]


def test_the_document_is_byte_for_byte_the_model_s(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = deploy(store)
    record = store.enqueue_execution(version=version, trigger="api", input={"n": 1}, versions={})
    assert store.claim_execution(record.id, "w1") is not None
    store.save_steps(record.id, every_kind_of_step())
    store.finish_execution(
        record.id,
        status="failed",
        error={"type": "ValueError", "message": "bad", "step_id": 4},
        output={"partial": [1, 2.5]},
    )
    record = store.get_execution(record.id)
    assert record is not None
    steps = store.get_steps(record.id)
    assert len(steps) == 10
    expected = model_bytes(record, steps)

    # Every step the store gives is built directly: none goes through the model.
    monkeypatch.setattr(detail_json, "StepOut", None)
    assert execution_detail_json(record, [step_json(step) for step in steps]) == expected
    assert store.map_steps(record.id, step_json) == [step_json(step) for step in steps]

    settings = Settings(database_url=str(store.url), auth=False, scheduler=False)
    app = create_app(settings, store=store, dispatcher=NullDispatcher())
    with TestClient(app) as client:
        url = f"/api/v1/executions/{record.id}"
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200
        assert plain.headers["content-type"] == "application/json"
        assert plain.content == expected
        with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
            raw = b"".join(response.iter_raw())
        assert response.headers["content-encoding"] == "gzip"
        assert gzip.decompress(raw) == expected


def _record(**changes: Any) -> StepRecord:
    values: dict[str, Any] = {
        "execution_id": "e" * 32,
        "id": 1,
        "parent_id": None,
        "sequence": 1,
        "depth": 0,
        "name": "main",
        "filename": "f.py",
        "lineno": 3,
        "function": "ns/f",
        "version": 2,
        "status": StepStatus.COMPLETED,
        "started_at_ns": 10,
        "duration_ns": 5,
        "inputs": {"x": {"preview": 1, "size": 1, "format": "json"}},
        "output": None,
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }
    values.update(changes)
    return StepRecord(**values)


def _model_bytes(step: StepRecord) -> bytes:
    return StepOut.model_validate(step, from_attributes=True).model_dump_json().encode()


def _document_bytes(step: StepRecord) -> bytes:
    return pydantic_core.to_json(step_document(step))


# Shapes the store does not give for valid steps, but a record may hold: the model coerces
# them (or drops, or refuses), and the document must follow it.
UNUSUAL = {
    "a numeric string": {"lineno": "12"},
    "a float count": {"aggregates": [{"name": "a", "count": 2.0, "total_ns": 1, "errors": 0}]},
    "a bool for an int": {"version": True},
    "aggregate extras": {
        "aggregates": [{"name": "a", "count": 2, "total_ns": 1, "errors": 0, "x": 1}]
    },
    "generator extras": {"generator": {"yielded": 1, "first": None, "x": 1}},
    "io extras": {"extra": {"kind": "io", "io": {"method": "GET", "url": "u", "x": 1}}},
    "a blob": {"output": {"preview": 1, "size": 1, "format": "pickle", "blob": b"x"}},
    "a captured string size": {"output": {"preview": 1, "size": "1", "format": "pickle"}},
    "a frame with a string line number": {
        "error": {"type": "E", "traceback": [{"lineno": "4"}], "step_id": "3"}
    },
    "a tuple of warnings": {"warnings": ("w",)},
    "a float yielded": {"generator": {"yielded": 1.0, "first": None}},
    "a status string": {"status": "completed"},
    "an int flag": {"stdout_truncated": 1},
    "an undeclared error key before declared ones": {"error": {"x": 1, "type": "E"}},
}
INVALID = {
    "a number as a warning": {"warnings": [1]},
    "an error that is a string": {"error": "boom"},
    "an error without a type": {"error": {"message": "m"}},
    "a captured value that is not a dict": {"inputs": {"x": 1}},
    "a generator without first": {"generator": {"yielded": 1}},
    "an io step without url": {"extra": {"kind": "io", "io": {"method": "GET"}}},
}


@pytest.mark.parametrize("changes", UNUSUAL.values(), ids=list(UNUSUAL))
def test_unusual_steps_read_as_the_model_reads_them(changes: dict[str, Any]) -> None:
    step = _record(**changes)
    assert _document_bytes(step) == _model_bytes(step)


@pytest.mark.parametrize("changes", INVALID.values(), ids=list(INVALID))
def test_invalid_steps_fail_as_the_model_fails(changes: dict[str, Any]) -> None:
    step = _record(**changes)
    with pytest.raises(ValidationError):
        _model_bytes(step)
    with pytest.raises(ValidationError):
        step_document(step)


def test_a_plain_step_is_built_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    step = _record(
        error={"type": "E", "message": "m", "traceback": [], "step_id": None, "from_step": 2},
        aggregates=[{"name": "a", "count": 2, "total_ns": 1, "errors": 0, "children": []}],
        generator={"yielded": 1, "first": {"preview": 0, "size": 0, "format": "none"}},
    )
    failed = dataclasses.replace(step, status=StepStatus.FAILED)
    expected = [_model_bytes(step), _model_bytes(failed)]
    monkeypatch.setattr(detail_json, "StepOut", None)
    assert [_document_bytes(step), _document_bytes(failed)] == expected
