"""The SQLite reader (``runtree show`` without SQLAlchemy) returns exactly the records the
store returns for the same executions, and declines every database a store would not open
as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from runtree.store import Store
from runtree.store import migrate as migrations
from runtree.store.sqlite_reader import database_path, open_reader

from .store_helpers import captured, deploy, make_step

SMALL = b"\x80\x05K\x07."
LARGE = b"\x80\x05" + b"x" * 400


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
        make_step(
            3,
            parent_id=1,
            status="failed",
            error={"type": "ValueError", "message": "bad", "frames": [{"line": "raise"}]},
            stdout="printed\n",
            warnings=["a warning"],
        ),
    ]


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runtree.db'}"


def test_reads_the_records_the_store_returns(tmp_path: Path) -> None:
    url = _url(tmp_path)
    with Store(url) as store:
        version = deploy(store)
        queued = store.enqueue_execution(
            version=version, trigger="api", input={"n": [1, {"deep": None}]}, versions={}
        )
        failed = store.enqueue_execution(version=version, trigger="cli", input={}, versions={})
        assert store.claim_execution(failed.id, "w1") is not None
        store.finish_execution(
            failed.id,
            status="failed",
            error={"type": "ValueError", "message": "bad"},
            steps=_steps(),
        )
        expected = {
            execution_id: (store.get_execution(execution_id), store.get_steps(execution_id))
            for execution_id in (queued.id, failed.id)
        }
    reader = open_reader(url)
    assert reader is not None
    try:
        for execution_id, (execution, steps) in expected.items():
            read = reader.get_execution(execution_id)
            assert read == execution
            assert read is not None and type(read.cancel_requested) is bool  # not 0
            assert read.queued_at.tzinfo is not None
            assert reader.get_steps(execution_id) == steps
        assert len(expected[failed.id][1]) == 3  # the comparison covered steps
        assert expected[failed.id][0] is not None
        assert expected[failed.id][0].finished_at is not None
        assert reader.get_execution("0" * 32) is None
        assert reader.get_steps("0" * 32) == []
    finally:
        reader.close()


def test_declines_what_a_store_would_not_open_as_it_is(tmp_path: Path) -> None:
    url = _url(tmp_path)
    assert open_reader(url) is None  # no file: the store creates it
    assert not (tmp_path / "runtree.db").exists()  # and the reader did not
    with Store(url):
        pass
    assert open_reader(url) is not None or pytest.fail("a database at head is read")
    with Store(url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert open_reader(url) is None  # an older schema: the store migrates it
    assert migrations.HEAD_REVISION != "0001"
    for other in ("sqlite://", "sqlite:///:memory:", f"{url}?mode=ro", "postgresql://x/y"):
        assert database_path(other) is None
        assert open_reader(other) is None
