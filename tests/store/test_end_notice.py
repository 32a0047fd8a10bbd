"""The end an execution's NOTIFY carries (runtree.store.end_notice): a waiting server that
completes the record it holds from it gets exactly what reading the store would give."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from runtree import service
from runtree.models import ExecutionRecord, ExecutionStatus, Trigger
from runtree.store import Store
from runtree.store.end_notice import MAX_PAYLOAD, EndNotice, notice_payload, parse_notice
from runtree.store.jobs import FINISHED_CHANNEL

from .conftest import PostgresDatabases

SOURCE = "def f(x=0):\n    return x\n"
ENDS: list[dict[str, Any]] = [
    {"status": "succeeded", "output": 3},
    {"status": "succeeded", "output": None},
    {"status": "succeeded", "output": {"b": [1, 2.5, True, None], "a": "é \x00 \u2603"}},
    {"status": "failed", "error": {"type": "ValueError", "message": "no", "frames": []}},
    {"status": "timed_out", "error": {"type": "TimeLimit", "message": "1 s"}},
]


def ended(store: Store, end: dict[str, Any], *, cancel: bool = False) -> tuple[Any, Any]:
    """``(queued, stored)``: an execution as queued and, after ending with ``end``, as the
    store reads it back."""
    service.deploy(store, "default", "f", SOURCE)
    queued = service.start_execution(store, "default", "f", {"x": 1})
    assert store.claim_execution(queued.id, "worker:1") is not None
    if cancel:
        store.request_cancel(queued.id)
    store.finish_execution(queued.id, **end)
    stored = store.get_execution(queued.id)
    assert stored is not None
    return queued, stored


@pytest.mark.parametrize("end", ENDS)
def test_a_record_completed_from_the_notice_is_the_stored_one(
    store: Store, end: dict[str, Any]
) -> None:
    queued, stored = ended(store, end)
    execution_id, notice = parse_notice(notice_payload(stored))
    assert execution_id == queued.id and notice is not None
    assert notice.complete(queued) == stored


def test_the_cancel_flag_travels_with_the_end(store: Store) -> None:
    queued, stored = ended(store, {"status": "cancelled"}, cancel=True)
    assert stored.cancel_requested
    notice = parse_notice(notice_payload(stored))[1]
    assert notice is not None and notice.complete(queued) == stored


def test_an_end_too_large_for_a_notice_is_announced_by_its_id(store: Store) -> None:
    queued, stored = ended(store, {"status": "succeeded", "output": "x" * MAX_PAYLOAD})
    assert notice_payload(stored) == queued.id
    assert parse_notice(queued.id) == (queued.id, None)


def test_non_ascii_ends_count_their_escaped_bytes(store: Store) -> None:
    # 3,000 snowmen: 3,000 characters, 18,000 bytes escaped (PostgreSQL counts bytes).
    queued, stored = ended(store, {"status": "succeeded", "output": "\u2603" * 3000})
    payload = notice_payload(stored)
    assert payload == queued.id
    assert len(payload.encode()) < 8000


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"status": "succeeded"}',
        '{"status": "running", "output": null, "error": null, "started_at": null, '
        '"finished_at": null, "duration_ms": null, "worker_id": null, '
        '"cancel_requested": false}',
        '{"status": "succeeded", "output": 1, "error": null, "started_at": null, '
        '"finished_at": "2026-12-05T10:00:00", "duration_ms": null, "worker_id": null, '
        '"cancel_requested": false}',
        "[" * 100_000,
        '{"status": "succeeded", "output": 1, "error": null, "started_at": null, '
        '"finished_at": "2026-12-05T10:00:00+00:00", "duration_ms": "12", "worker_id": null, '
        '"cancel_requested": false}',
        '{"status": "succeeded", "output": 1, "error": null, "started_at": null, '
        '"finished_at": "2026-12-05T10:00:00+00:00", "duration_ms": 12, "worker_id": 7, '
        '"cancel_requested": false}',
        '{"status": "succeeded", "output": 1, "error": null, "started_at": null, '
        '"finished_at": "2026-12-05T10:00:00+00:00", "duration_ms": 12, "worker_id": null, '
        '"cancel_requested": null}',
    ],
)
def test_a_notice_it_cannot_read_sends_the_reader_to_the_store(text: str) -> None:
    record = ExecutionRecord(
        id="0" * 32,
        function_id=1,
        version_id=1,
        namespace="default",
        name="f",
        version=1,
        trigger=Trigger.API,
        status=ExecutionStatus.QUEUED,
        input={},
        output=None,
        error=None,
        versions={"f": 1},
        queued_at=datetime.datetime.now(datetime.UTC),
        started_at=None,
        finished_at=None,
        duration_ms=None,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )
    assert EndNotice(text).complete(record) is None


# --- the NOTIFY itself, on PostgreSQL ----------------------------------------------------------


@pytest.fixture
def pg_store(postgres: PostgresDatabases) -> Iterator[Store]:
    with Store(postgres.create()) as opened:
        yield opened


def listener(store: Store) -> psycopg.Connection[Any]:
    url = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = psycopg.connect(url, autocommit=True)
    connection.execute(f"LISTEN {FINISHED_CHANNEL}")
    return connection


def notices(connection: psycopg.Connection[Any]) -> list[str]:
    return [n.payload for n in connection.notifies(timeout=5, stop_after=1)]


@pytest.mark.postgres
def test_the_end_committed_is_the_end_announced(pg_store: Store) -> None:
    with listener(pg_store) as connection:
        queued, stored = ended(pg_store, {"status": "succeeded", "output": {"n": [1, "two"]}})
        (payload,) = notices(connection)
    execution_id, notice = parse_notice(payload)
    assert execution_id == queued.id and notice is not None
    assert notice.complete(queued) == stored
    assert notice.complete(dataclasses.replace(queued, status="running")) == stored


@pytest.mark.postgres
def test_a_second_end_announces_nothing(pg_store: Store) -> None:
    with listener(pg_store) as connection:
        queued, stored = ended(pg_store, {"status": "succeeded", "output": 1})
        assert len(notices(connection)) == 1
        again = pg_store.finish_execution(queued.id, status="failed", error={"type": "X"})
        assert again == stored  # the first end stands
        assert list(connection.notifies(timeout=0.3)) == []
