"""Read-only store queries behind the web UI: searching executions, step outlines and the
numbers behind per-version statistics. Run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import time

import pytest
from sqlalchemy import text

from runtree.store import InvalidDataError, Store
from runtree.store import migrate as migrations
from runtree.store.input_search import (
    glob_pattern,
    like_pattern,
    narrowing_fragment,
    search_fragments,
)
from runtree.store.queries import id_bound

from .store_helpers import deploy, make_step


def run(store: Store, version, input, *, status="succeeded", steps=None):  # type: ignore[no-untyped-def]
    execution = store.enqueue_execution(version=version, trigger="api", input=input, versions={})
    store.claim_execution(execution.id, "w")
    return store.finish_execution(execution.id, status=status, steps=steps)


def ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.id for e in page[0]]


def test_search_finds_values_in_the_input(store: Store) -> None:
    v = deploy(store)
    ada = run(store, v, {"customer": {"name": "Ada Lovelace", "id": 42}, "note": 'say "hi"'})
    bob = run(store, v, {"customer": {"name": "Bob", "id": 142}, "tags": ["x_y", "50%"]})
    eve = run(store, v, {"city": "Zürich", "id": 7})
    assert ids(store.search_executions(text="lovelace")) == [ada.id]  # any case
    assert ids(store.search_executions(text="42")) == [bob.id, ada.id]
    assert ids(store.search_executions(text="id=42")) == [ada.id]  # key=value: exact value
    assert ids(store.search_executions(text="id: 7")) == [eve.id]
    assert ids(store.search_executions(text='name="Bob"')) == [bob.id]
    assert ids(store.search_executions(text="name=Bob")) == [bob.id]  # not JSON: a string
    assert ids(store.search_executions(text='say "hi"')) == [ada.id]  # inside a JSON string
    assert ids(store.search_executions(text="zürich")) == [eve.id]  # stored as \\u escapes
    assert ids(store.search_executions(text="x_y")) == [bob.id]  # _ and % are literal
    assert ids(store.search_executions(text="50%")) == [bob.id]
    assert ids(store.search_executions(text="x%y")) == []
    assert ids(store.search_executions(text="  ")) == [eve.id, bob.id, ada.id]
    with pytest.raises(InvalidDataError):
        store.search_executions(text="x" * 201)


def test_search_filters_by_version_status_trigger_and_time(store: Store) -> None:
    v1 = deploy(store)
    v2 = deploy(store, source="def orders():\n    return 2\n")
    first = run(store, v1, {}, status="failed")
    time.sleep(0.005)
    middle = datetime.datetime.now(datetime.UTC)
    time.sleep(0.005)
    second = run(store, v2, {})
    assert ids(store.search_executions(name="orders", version=1)) == [first.id]
    assert ids(store.search_executions(status="failed")) == [first.id]
    assert ids(store.search_executions(trigger="cli")) == []
    assert ids(store.search_executions(since=middle)) == [second.id]
    assert ids(store.search_executions(until=middle)) == [first.id]
    page, cursor = store.search_executions(limit=1)
    assert [e.id for e in page] == [second.id] and cursor is not None
    assert ids(store.search_executions(limit=1, cursor=cursor)) == [first.id]
    with pytest.raises(InvalidDataError):
        store.search_executions(status="nope")
    with pytest.raises(InvalidDataError):
        store.search_executions(since=datetime.datetime(2026, 1, 1))  # naive


def test_id_bound_orders_like_execution_ids(store: Store) -> None:
    v = deploy(store)
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(milliseconds=2)
    execution = run(store, v, {})
    after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(milliseconds=2)
    assert id_bound(before) <= execution.id < id_bound(after)
    assert len(id_bound(before)) == 32


def test_search_patterns_escape_wildcards() -> None:
    assert search_fragments("k=1") == ['"k": 1,', '"k": 1}', '"k": 1]']
    assert search_fragments('A"b') == ['a"b', 'a\\"b']
    assert like_pattern("a_b%") == "%a\\_b\\%%"
    assert glob_pattern("a*b?[c]") == "*a[*]b[?][[]c[]]*"


def test_search_uses_the_index_and_follows_deletes(store: Store) -> None:
    v = deploy(store)
    kept = run(store, v, {"pattern": "a[1]*?", "k": "needle-one"})
    gone = run(store, v, {"k": "needle-two"})
    assert ids(store.search_executions(text="a[1]*?")) == [kept.id]  # GLOB specials literal
    assert ids(store.search_executions(text="needle")) == [gone.id, kept.id]
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM executions WHERE id = :id"), {"id": gone.id})
    assert ids(store.search_executions(text="needle")) == [kept.id]
    with store.engine.connect() as conn:
        if store.is_sqlite:
            assert conn.scalar(text("SELECT count(*) FROM execution_input_fts")) == 1
            plan = conn.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM execution_input_fts WHERE doc GLOB :g"),
                {"g": "*needle*"},
            ).all()
            assert "INDEX 0:G" in str(plan)  # the trigram index, not a scan
        else:
            conn.execute(text("SET enable_seqscan = off"))
            plan = conn.execute(
                text(
                    "EXPLAIN SELECT id FROM executions "
                    "WHERE lower(CAST(input AS TEXT)) LIKE '%needle%'"
                )
            ).all()
            assert "ix_executions_input_trgm" in str(plan)


def test_the_search_migration_indexes_existing_executions(fresh_url: str) -> None:
    with Store(fresh_url) as store:
        v = deploy(store)
        before = run(store, v, {"k": "haystack"})
        migrations.downgrade(store.engine, "0012")
        migrations.upgrade(store.engine)
        after = run(store, v, {"k": "haystack too"})
        assert ids(store.search_executions(text="haystack")) == [after.id, before.id]


def test_step_summaries_leave_payloads_out_and_page(store: Store) -> None:
    v = deploy(store)
    steps = [
        make_step(1, stdout="hello\n", warnings=["w"]),
        make_step(
            2,
            parent_id=1,
            status="failed",
            error={"type": "KeyError", "message": "'x'", "traceback": []},
        ),
        make_step(
            3, parent_id=1, aggregates=[{"name": "f", "count": 5, "total_ns": 9, "errors": 0}]
        ),
        make_step(4, parent_id=3, generator={"yielded": 2, "first": None}),
    ]
    execution = run(store, v, {}, status="failed", steps=steps)
    summaries = store.get_step_summaries(execution.id)
    assert [s.id for s in summaries] == [1, 2, 3, 4]
    root = summaries[0]
    assert root.stdout_size == 6 and root.warnings == ["w"] and root.error is None
    assert summaries[1].error == {"type": "KeyError", "message": "'x'", "traceback": []}
    assert summaries[2].aggregates == [{"name": "f", "count": 5, "total_ns": 9, "errors": 0}]
    assert summaries[3].generator == {"yielded": 2}
    assert [s.id for s in store.get_step_summaries(execution.id, parent_id=1)] == [2, 3]
    assert [s.id for s in store.get_step_summaries(execution.id, roots=True)] == [1]
    assert [s.id for s in store.get_step_summaries(execution.id, after=2, limit=1)] == [3]
    assert store.count_children(execution.id, [1, 2, 3, 4]) == {1: 2, 3: 1}
    assert store.get_step_summaries("0" * 32) == []


def test_numbers_behind_version_statistics(store: Store) -> None:
    v1 = deploy(store)
    v2 = deploy(store, source="def orders():\n    return 2\n")
    a = run(store, v1, {}, steps=[make_step(1), make_step(2, parent_id=1)])
    b = run(store, v1, {}, status="failed", steps=[make_step(1)])
    queued = store.enqueue_execution(version=v2, trigger="api", input={}, versions={})
    counts = store.version_status_counts("default", "orders")
    assert counts == {1: {"succeeded": 1, "failed": 1}, 2: {"queued": 1}}
    assert len(store.recent_durations("default", "orders", 1)) == 2
    assert store.recent_durations("default", "orders", 2) == []
    assert store.recent_execution_ids("default", "orders", 1) == [b.id, a.id]
    assert store.recent_execution_ids("default", "orders", 2) == []
    timings = store.get_step_timings([a.id, b.id, queued.id])
    assert sorted((t.execution_id, t.id, t.parent_id) for t in timings) == sorted(
        [(a.id, 1, None), (a.id, 2, 1), (b.id, 1, None)]
    )


def test_step_timings_within_a_budget_in_the_order_asked(store: Store) -> None:
    """The first execution always, then each next one while the total stays within the
    budget (an execution without steps counts as read); in the order of the ids given, each
    execution's steps by sequence; ids that do not exist read as executions without steps."""
    v = deploy(store)
    three = run(store, v, {}, steps=[make_step(1), make_step(2, parent_id=1), make_step(3)])
    one = run(store, v, {}, steps=[make_step(1)])
    empty = run(store, v, {})
    two = run(store, v, {}, steps=[make_step(1), make_step(2, parent_id=1)])
    missing = "0" * 32

    def read(ids: list[str], budget: int) -> tuple[list[tuple[str, int]], int]:
        timings, used = store.get_step_timings_within(ids, budget)
        return [(t.execution_id, t.id) for t in timings], used

    order = [two.id, empty.id, one.id, missing, three.id]
    everything = [
        (two.id, 1),
        (two.id, 2),
        (one.id, 1),
        (three.id, 1),
        (three.id, 2),
        (three.id, 3),
    ]
    assert read(order, 6) == (everything, 5)
    assert read(order, 5) == (everything[:3], 4)  # three's 3 steps would pass 5
    assert read(order, 3) == (everything[:3], 4)
    assert read(order, 2) == (everything[:2], 2)  # stops before one; empty was read
    assert read([three.id, one.id], 1) == ([(three.id, 1), (three.id, 2), (three.id, 3)], 1)
    assert read([missing, one.id], 1) == ([(one.id, 1)], 2)
    assert read([], 10) == ([], 0)


def test_key_value_search_reads_the_index_for_the_value_and_checks_the_key(store: Store) -> None:
    v = deploy(store)
    exact = run(store, v, {"customer": "c123", "n": 1})
    other_key = run(store, v, {"friend": "c123", "customer": "c1"})
    longer = run(store, v, {"customer": "c1234"})
    upper = run(store, v, {"deep": [{"Customer": "C123"}]})
    last = run(store, v, {"x": 1, "customer": "c123"})
    assert ids(store.search_executions(text="customer=c123")) == [last.id, upper.id, exact.id]
    assert ids(store.search_executions(text="customer=c1")) == [other_key.id]
    assert ids(store.search_executions(text="friend=c123")) == [other_key.id]
    assert ids(store.search_executions(text="n=1")) == [exact.id]  # too short to narrow
    assert longer.id in ids(store.search_executions(text="c1234"))


def test_narrowing_fragment_is_the_value_as_stored() -> None:
    assert narrowing_fragment("customer=C123") == '"c123"'
    assert narrowing_fragment("n = 12345") == "12345"
    assert narrowing_fragment('s="a\\u00e9"') == '"a\\u00e9"'  # as JSON escapes it
    assert narrowing_fragment("n=1") is None  # shorter than a trigram
    assert narrowing_fragment("c123") is None  # not key=value
    for search in ("customer=C123", "n = 12345", 'tag=["a", 1]'):
        value = narrowing_fragment(search)
        assert value is not None
        assert all(value in fragment for fragment in search_fragments(search))


def test_search_pages_are_the_same_through_the_newest_and_through_the_index(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtree.store import queries

    monkeypatch.setattr(queries, "SEARCH_PROBE", 4)
    v = deploy(store)
    made = [run(store, v, {"region": "us" if n % 3 else "eu", "n": n}) for n in range(12)]
    expected = [e.id for e in reversed(made) if e.input["region"] == "us"]
    for limit in (1, 2, 3, 5, 50):
        found: list[str] = []
        cursor = None
        while True:
            page, cursor = store.search_executions(text="region=us", limit=limit, cursor=cursor)
            found += [e.id for e in page]
            if cursor is None:
                break
        assert found == expected, limit


def test_a_common_value_is_found_among_the_newest_without_the_index(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtree.store import queries

    v = deploy(store)
    made = [run(store, v, {"region": "us"}) for _ in range(4)]

    def unused(*args: object) -> object:
        raise AssertionError("the index was read")

    monkeypatch.setattr(queries, "input_matches", unused)
    page, cursor = store.search_executions(text="region=us", limit=3)
    assert [e.id for e in page] == [e.id for e in reversed(made)][:3] and cursor is not None
