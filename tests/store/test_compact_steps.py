"""Compact steps (migration 0012): small captured values live in the step's row, large ones
in ``step_payloads``; both read back the same, and the migration moves existing data both
ways."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import inspect, text

from runtree.errors import InvalidDataError
from runtree.models import ExecutionRecord, PayloadKind
from runtree.store import Store, step_codec, step_decode, step_encode
from runtree.store import migrate as migrations
from runtree.store.step_codec import INLINE_BLOB_MAX, from_inline

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


def _inline_lists(store: Store, execution_id: str) -> dict[int, Any]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, payloads FROM steps WHERE execution_id = :e ORDER BY id"),
            {"e": execution_id},
        )
        return {
            step_id: json.loads(value) if isinstance(value, str) else value
            for step_id, value in rows
        }


def test_inline_values_use_the_short_layout(store: Store) -> None:
    execution = _running(store)
    store.save_steps(
        execution.id, [make_step(1, inputs={"n": captured(7, SMALL, type="int")}, output=None)]
    )
    # The kind as a number, the blob's own size and the pickle format left out (0015).
    assert _inline_lists(store, execution.id)[1] == [
        [0, "n", 0, 7, base64.b64encode(SMALL).decode(), "int"]
    ]


def test_inline_values_of_the_old_layout_read_back_the_same(store: Store) -> None:
    """Lists written before migration 0015 are not rewritten: they must read as before,
    and count in the storage figures as before."""
    execution = _running(store)
    sent = _steps()
    store.save_steps(execution.id, sent)
    before = store.get_steps(execution.id, include_blobs=True)
    usage_before = store.retention.usage_by_function()
    assert usage_before[("default", "orders")].payload_bytes > len(LARGE)
    old = {
        step_id: [_v1(entry) for entry in entries]
        for step_id, entries in _inline_lists(store, execution.id).items()
    }
    with store.engine.begin() as conn:
        for step_id, entries in old.items():
            conn.execute(
                text("UPDATE steps SET payloads = :p WHERE execution_id = :e AND id = :s"),
                {"p": json.dumps(entries), "e": execution.id, "s": step_id},
            )
    assert isinstance(_inline_lists(store, execution.id)[1][0][0], str)
    assert store.get_steps(execution.id, include_blobs=True) == before
    assert store.get_steps(execution.id) == [
        dataclasses.replace(
            step,
            inputs={k: _no_blob(v) for k, v in step.inputs.items()},
            output=_no_blob(step.output),
            generator=step.generator
            and {**step.generator, "first": _no_blob(step.generator["first"])},
        )
        for step in before
    ]
    assert store.get_step_blob(execution.id, 1, "input", "small") == SMALL
    assert store.retention.usage_by_function() == usage_before


def _no_blob(value: Any) -> Any:
    return None if value is None else {k: v for k, v in value.items() if k != "blob"}


def _v1(entry: list[Any]) -> list[Any]:
    """The layout before migration 0015, built from the decoded value."""
    value = from_inline(entry)
    flags = (1 if value["truncated"] else 0) | (2 if value["redacted"] else 0)
    blob = value["blob"]
    old = [
        value["kind"],
        value["name"],
        value["position"],
        value["preview"],
        value["size"],
        value["format"],
        flags,
        None if blob is None else base64.b64encode(blob).decode(),
        value["value_type"],
        value["length"],
        value["sha256"],
        value["warning"],
    ]
    while old[-1] is None:
        old.pop()
    return old


def test_migration_0015_writes_the_old_layout_on_the_way_down(fresh_url: str) -> None:
    with Store(fresh_url) as store:
        execution = _running(store)
        store.save_steps(execution.id, _steps())
        before = store.get_steps(execution.id, include_blobs=True)

        migrations.downgrade(store.engine, "0014")
        assert all(
            isinstance(entry[0], str)
            for entries in _inline_lists(store, execution.id).values()
            for entry in entries or ()
        )
        assert store.get_steps(execution.id, include_blobs=True) == before
        migrations.downgrade(store.engine, "0011")  # 0012 reads the old layout back out
        assert len(_payload_rows(store, execution.id)) == 7
        migrations.upgrade(store.engine)
        assert store.get_steps(execution.id, include_blobs=True) == before
        if store.is_sqlite:
            with store.engine.connect() as conn:
                ddl = conn.scalars(
                    text("SELECT sql FROM sqlite_master WHERE name IN ('steps', 'value_hashes')")
                ).all()
            assert len(ddl) == 2 and all(sql.endswith("WITHOUT ROWID") for sql in ddl)


def test_from_inline_refuses_malformed_lists() -> None:
    for entry in (
        [],
        [3, "x", 0, 1],
        [16, "x", 0, 1],
        ["input", "x"],
        [True, "x", 0, 1],
        [0, "x", 0, 1, "!!"],
    ):
        with pytest.raises(InvalidDataError):
            from_inline(entry)


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
        row = step_encode._payload("e" * 32, 1, PayloadKind.INPUT, "x", position, value, "here")
        entry = step_codec.inline(row)
        for blobs in (True, False):
            reference = step_codec.decode_captured(step_codec.from_inline(entry, blobs=blobs))
            kind, name, decoded = step_decode._inline_captured(entry, blobs)
            assert (kind, name) == ("input", "x")
            assert list(decoded.items()) == list(reference.items())  # same keys, same order
            # A list in the layout before migration 0015 reads the same.
            assert step_decode._inline_captured(_v1(entry), blobs) == (kind, name, decoded)
    with pytest.raises(InvalidDataError):
        step_decode._inline_captured(["input", "x"], True)
    with pytest.raises(InvalidDataError):
        step_decode._inline_captured(["input", "x", 0, 1, 1, "pickle", 0, "not base64!"], True)
