"""Run counters (migration 0014): per version and status, kept by triggers in the transaction
that queues, claims, ends, hands back or deletes an execution; always equal to counting the
executions themselves (shadow runs left out), on both backends, through retention too."""

from __future__ import annotations

from sqlalchemy import text

from runtree.service import deploy, start_execution
from runtree.store import Store
from runtree.store import migrate as migrations
from runtree.store.engine import create_store_engine

COUNT_EXECUTIONS = """SELECT version, status, count(*) FROM executions
    WHERE namespace = 'default' AND name = 'orders' AND shadow_report_id IS NULL
    GROUP BY version, status"""


def counted(store: Store) -> dict[int, dict[str, int]]:
    """The counts the slow way: grouping every execution."""
    counts: dict[int, dict[str, int]] = {}
    with store.engine.connect() as conn:
        for version, status, count in conn.execute(text(COUNT_EXECUTIONS)):
            counts.setdefault(int(version), {})[str(status)] = int(count)
    return counts


def check(store: Store) -> None:
    counts = store.version_status_counts("default", "orders")
    assert counts == counted(store)
    function = store.get_function("default", "orders")
    assert function is not None
    assert function.run_count == sum(sum(by.values()) for by in counts.values())
    listed = {f.name: f for f in store.list_functions()}
    assert listed["orders"].run_count == function.run_count
    assert listed["orders"].last_execution_id == function.last_execution_id


def test_counters_follow_every_change_of_an_execution(store: Store) -> None:
    deploy(store, "default", "orders", "def orders():\n    return 1\n")
    ids = [start_execution(store, "default", "orders").id for _ in range(4)]
    deploy(store, "default", "orders", "def orders():\n    return 2\n")  # version 2
    ids += [start_execution(store, "default", "orders").id for _ in range(5)]
    check(store)
    for execution_id in ids[:7]:
        store.claim_execution(execution_id, "w1")
    check(store)
    store.finish_execution(ids[0], status="succeeded")
    store.finish_execution(ids[1], status="failed", error={"type": "ValueError"})
    store.finish_execution(ids[4], status="timed_out")
    store.finish_execution(ids[4], status="succeeded")  # the first end stands
    store.request_cancel(ids[8])  # queued: cancelled at once
    assert store.requeue_execution(ids[5], "w1")  # handed back: running -> queued
    check(store)
    assert store.get_function("default", "orders").run_count == 9  # type: ignore[union-attr]
    # Retention's one deletion path: the deleted executions leave their counts.
    deleted = store.retention.delete_executions([ids[0], ids[1], ids[8]], max_rows=None)
    assert deleted.executions == 3
    check(store)
    assert store.version_status_counts("default", "orders") == {
        1: {"running": 2},
        2: {"timed_out": 1, "queued": 2, "running": 1},
    }


def test_the_migration_counts_the_executions_already_stored(fresh_url: str) -> None:
    with Store(fresh_url) as store:
        deploy(store, "default", "orders", "def orders():\n    return 1\n")
        ids = [start_execution(store, "default", "orders").id for _ in range(3)]
        store.claim_execution(ids[0], "w1")
        store.finish_execution(ids[0], status="succeeded")
        migrations.downgrade(store.engine, "0013")
    engine = create_store_engine(fresh_url)
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()
    with Store(fresh_url) as store:
        assert store.version_status_counts("default", "orders") == {
            1: {"queued": 2, "succeeded": 1}
        }
        check(store)
