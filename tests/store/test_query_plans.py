"""Listings read the newest executions through an index in id order, whatever the number of
executions: no plan sorts every execution (SQLite, whose plans do not depend on statistics;
bench/data_scale.py measures both backends at 100,000 executions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from runtree.service.explore import function_stats
from runtree.store import Store

from .store_helpers import deploy


@contextmanager
def plans(store: Store) -> Iterator[list[str]]:
    """The query plans of the SELECTs on executions run inside the block."""
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "executions" in statement:
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", seen)
    found: list[str] = []
    try:
        yield found
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    with store.engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            found.append(" | ".join(str(row[-1]) for row in rows))


LISTINGS: dict[str, Callable[[Store], object]] = {
    "newest": lambda store: store.search_executions(limit=50),
    "of a function": lambda store: store.search_executions(
        namespace="default", name="orders", limit=50
    ),
    "search": lambda store: store.search_executions(text="customer=c1", limit=50),
    "statistics": lambda store: function_stats(store, "default", "orders"),
}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("listing", sorted(LISTINGS))
def test_listings_never_sort_every_execution(store: Store, listing: str) -> None:
    version = deploy(store)
    for n in range(3):
        execution = store.enqueue_execution(
            version=version, trigger="api", input={"customer": f"c{n}"}, versions={}
        )
        store.claim_execution(execution.id, "w")
        store.finish_execution(execution.id, status="succeeded", output=n)
    with plans(store) as found:
        LISTINGS[listing](store)
    assert found
    for plan in found:
        assert "ix_executions_shadow_report_id (shadow_report_id=?)" not in plan, plan
        # A search's first look sorts the newest SEARCH_PROBE executions, no more.
        bounded = plan.startswith("CO-ROUTINE newest")
        assert bounded or "TEMP B-TREE FOR ORDER BY" not in plan, plan
