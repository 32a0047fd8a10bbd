"""Compact steps (migration 0012): small captured values live in the step's row, large ones
in ``step_payloads``; both read back the same, and the migration moves existing data both
ways."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, text

from runtree.errors import InvalidDataError
from runtree.models import ExecutionRecord, PayloadKind
from runtree.store import Store, step_codec
from runtree.store import migrate as migrations
from runtree.store.step_codec import INLINE_BLOB_MAX

from .store_helpers import captured, deploy, make_step

SMALL = b"\x80\x05K\x07."
LARGE = b"\x80\x05" + b"x" * (INLINE_BLOB_MAX + 1)


def _running(store: Store) -> ExecutionRecord:
    version = deploy(store)
    execution = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
    claimed = store.claim_execution(execution.id, "w1")
    assert claimed is not None
    return claimed


def _steps() -> list[dict[str, Any]]:
    return [
        make_step(
            1,
            inputs={
                "small": captured(7, SMALL, type="int"),
                "big": captured("x" * 20, LARGE, type="str", length=300),
                "secret": captured("<redacted>", None, redacted=True),
                "cut": captured("xx…", SMALL, truncated=True, sha256="ab" * 32),
            },
            output=captured({"k": [1, None]}, SMALL, type="dict", length=1, warning="w"),
        ),
        make_step(
            2,
            parent_id=1,
            generator={"yielded": 2, "first": captured(0, SMALL)},
            output=None,
        ),
    ]


def _payload_rows(store: Store, execution_id: str) -> list[tuple[int, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT step_id, kind, name FROM step_payloads WHERE execution_id = :e "
                "ORDER BY step_id, kind, name"
            ),
            {"e": execution_id},
        )
        return [tuple(row) for row in rows]


def test_small_values_are_kept_in_the_step_row_and_read_back_the_same(store: Store) -> None:
    execution = _running(store)
    sent = _steps()
    store.save_steps(execution.id, sent)

    # Only the large value and the truncated one have rows of their own.
    assert _payload_rows(store, execution.id) == [(1, "input", "big"), (1, "input", "cut")]
    first, second = store.get_steps(execution.id, include_blobs=True)
    assert list(first.inputs) == ["small", "big", "secret", "cut"]  # parameter order kept
    assert first.inputs == sent[0]["inputs"]
    assert first.output == sent[0]["output"]
    assert second.generator == {"yielded": 2, "first": captured(0, SMALL)}

    without_blobs = store.get_steps(execution.id)[0]
    assert all("blob" not in value for value in without_blobs.inputs.values())
    assert without_blobs.inputs["small"]["preview"] == 7
    one = store.get_step(execution.id, 1)
    assert one is not None and one.inputs == without_blobs.inputs

    assert store.get_step_blob(execution.id, 1, "input", "small") == SMALL
    assert store.get_step_blob(execution.id, 1, "input", "big") == LARGE
    assert store.get_step_blob(execution.id, 1, "output", "") == SMALL
    assert store.get_step_blob(execution.id, 2, "first_yield", "") == SMALL
    assert store.get_step_blob(execution.id, 1, "input", "secret") is None
    assert store.get_step_blob(execution.id, 1, "input", "nope") is None


def test_a_finished_step_replaces_the_values_of_its_running_version(store: Store) -> None:
    execution = _running(store)
    store.save_steps(
        execution.id,
        [make_step(1, status="running", inputs={"a": captured(1, LARGE), "b": captured(2)})],
    )
    store.save_steps(execution.id, [make_step(1, inputs={"a": captured(3, SMALL)})])
    assert _payload_rows(store, execution.id) == []
    (step,) = store.get_steps(execution.id, include_blobs=True)
    assert step.inputs == {"a": captured(3, SMALL)}


def test_migration_0012_moves_values_into_the_row_and_back(fresh_url: str) -> None:
    with Store(fresh_url) as store:
        execution = _running(store)
        store.save_steps(execution.id, _steps())
        before = store.get_steps(execution.id, include_blobs=True)

        migrations.downgrade(store.engine, "0011")
        columns = {c["name"] for c in inspect(store.engine).get_columns("steps")}
        assert "payloads" not in columns
        assert len(_payload_rows(store, execution.id)) == 7  # every value has its row again

        migrations.upgrade(store.engine)
        assert _payload_rows(store, execution.id) == [(1, "input", "big"), (1, "input", "cut")]
        assert store.get_steps(execution.id, include_blobs=True) == before
        indexes = {index["name"] for index in inspect(store.engine).get_indexes("steps")}
        assert "ix_steps_execution_id_sequence" not in indexes


def test_an_inline_value_reads_as_its_payload_row_would() -> None:
    """Steps with inline values only are decoded straight from the lists
    (``_inline_captured``): the same captured values as through a payload-row mapping."""
    values = [
        captured(7, SMALL, type="int"),
        captured("<redacted>", None, redacted=True),
        captured("xx…", SMALL, truncated=True, sha256="ab" * 32, length=9, warning="w"),
        captured({"k": [1, None]}, None),
        captured(None, SMALL, length=0),
    ]
    for position, value in enumerate(values):
        row = step_codec._payload("e" * 32, 1, PayloadKind.INPUT, "x", position, value, "here")
        entry = step_codec.inline(row)
        for blobs in (True, False):
            reference = step_codec.decode_captured(step_codec.from_inline(entry, blobs=blobs))
            kind, name, decoded = step_codec._inline_captured(entry, blobs)
            assert (kind, name) == ("input", "x")
            assert list(decoded.items()) == list(reference.items())  # same keys, same order
    with pytest.raises(InvalidDataError):
        step_codec._inline_captured(["input", "x"], True)
    with pytest.raises(InvalidDataError):
        step_codec._inline_captured(["input", "x", 0, 1, 1, "pickle", 0, "not base64!"], True)
