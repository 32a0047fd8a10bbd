"""PostgreSQL analyzes the step tables after bulk writes (stale plans made while they were
nearly empty slowed writing steps eightfold)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from runtree.store import Store
from runtree.store.repositories.steps import FIRST_ANALYZE_AFTER_STEPS

from .store_helpers import deploy, make_step


def test_postgresql_analyzes_the_step_tables_after_bulk_writes(store: Store) -> None:
    if store.is_sqlite:
        pytest.skip("PostgreSQL keeps plans per connection; SQLite has nothing to refresh")

    def analyzed() -> int:
        with store.engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            count = conn.scalar(
                text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'steps'")
            )
            return int(count or 0)

    version = deploy(store)
    execution = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
    assert store.claim_execution(execution.id, "w1") is not None
    before = analyzed()
    store.save_steps(
        execution.id, [make_step(i, parent_id=None if i == 1 else 1) for i in range(1, 501)]
    )
    assert analyzed() == before  # 500 steps: not yet
    store.save_steps(
        execution.id,
        [make_step(i, parent_id=1) for i in range(501, FIRST_ANALYZE_AFTER_STEPS + 1)],
    )
    deadline = time.monotonic() + 5  # the statistics collector reports asynchronously
    while analyzed() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert analyzed() == before + 1
