"""Statements per page: the functions listing, a function and its statistics send a fixed
number of statements to the database however many functions, runs and steps there are
(each one a round trip on PostgreSQL). Run on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from runtree import service
from runtree.store import Store

from .store_helpers import deploy, make_step


@contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    """The statements ``store`` sends while the block runs (not counting SQLite's ``BEGIN``,
    which the engine sends itself; on PostgreSQL these run in autocommit)."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):
            statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def statements_of(store: Store, operation: Callable[[], object]) -> int:
    with counting(store) as statements:
        operation()
    return len(statements)


def run(store: Store, version: Any, steps: int) -> None:
    execution = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
    store.claim_execution(execution.id, "w")
    made = [make_step(1)] + [make_step(n, parent_id=1) for n in range(2, steps + 1)]
    store.finish_execution(execution.id, status="succeeded", steps=made)


def test_the_functions_listing_is_one_statement_however_many_functions(store: Store) -> None:
    for index in range(2):
        run(store, deploy(store, f"f{index}", f"def f{index}():\n    return 1\n"), 2)
    assert statements_of(store, store.list_functions) == 1
    for index in range(2, 8):
        run(store, deploy(store, f"f{index}", f"def f{index}():\n    return 1\n"), 2)
    assert statements_of(store, store.list_functions) == 1
    assert statements_of(store, lambda: store.get_function("default", "f3")) == 1
    assert len(store.list_functions()) == 8


def test_statistics_take_the_same_statements_for_more_runs(store: Store) -> None:
    version = deploy(store)
    run(store, version, 3)
    run(store, version, 3)
    stats = lambda: service.function_stats(store, "default", "orders")  # noqa: E731
    few = statements_of(store, stats)
    for _ in range(5):
        run(store, version, 3)
    assert statements_of(store, stats) == few == 6
    assert stats().versions[0].recent_runs == 7
