"""Schedules fire once with several processes ticking (issue 17, "Tests"): every
``runtree worker`` and every ``runtree serve`` runs the scheduler loop; the unique fire time
(``Store.fire_schedule``) is what keeps a fire time from running twice."""

from __future__ import annotations

import datetime
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from runtree import service
from runtree.service import Principal
from runtree.service import schedules as schedule_service
from runtree.store import Store
from runtree.store.schema import ScheduleRow

from .fleet import WorkerProcess, claims, install_claims_log
from .test_fleet import wait_all_ended

pytestmark = pytest.mark.postgres

UTC = datetime.UTC
TICK = "def tick(n: int = 0):\n    return n\n"
START = datetime.datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
MINUTES = 40


def test_three_schedulers_ticking_together_fire_each_time_once(pg_url: str) -> None:
    """Three stores (three processes' connection pools) tick the same moments at once."""
    stores = [Store(pg_url) for _ in range(3)]
    try:
        service.deploy(stores[0], "default", "tick", TICK)
        schedule = schedule_service.create_schedule(
            stores[0], Principal.local(), "default", "tick", cron="* * * * *", now=START
        )
        moments = [START + datetime.timedelta(minutes=m, seconds=1) for m in range(1, MINUTES)]
        barrier = threading.Barrier(3)
        started: list[list[str]] = [[] for _ in stores]

        def tick_all(index: int) -> None:
            scheduler = schedule_service.Scheduler(stores[index])
            for moment in moments:
                barrier.wait(30)
                started[index] += [e.id for e in scheduler.tick(moment)]

        threads = [threading.Thread(target=tick_all, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        ids = [execution_id for each in started for execution_id in each]
        assert len(ids) == len(set(ids)) == len(moments)
        fires = stores[0].list_fires(schedule.id, limit=1000)
        assert sorted(f.fire_time for f in fires) == [m.replace(second=0) for m in moments]
        assert {f.execution_id for f in fires} == set(ids)
        assert len(stores[0].list_executions(trigger="schedule", limit=1000)[0]) == len(moments)
    finally:
        for store in stores:
            store.close()


@pytest.mark.slow
def test_three_workers_fire_a_due_schedule_once(pg_url: str, tmp_path: Path) -> None:
    store = Store(pg_url)
    install_claims_log(store)
    service.deploy(store, "default", "tick", TICK)
    schedule = schedule_service.create_schedule(
        store, Principal.local(), "default", "tick", cron="* * * * *"
    )
    workers = [WorkerProcess(pg_url, tmp_path / f"w{n}", slots=1) for n in range(3)]
    try:
        for worker in workers:
            worker.wait_registered(store)
        # Due for all three at once (missed while the fleet was down): the latest missed
        # fire time runs, once, marked late.
        overdue = schedule_service.utcnow() - datetime.timedelta(minutes=3)
        with store.engine.begin() as conn:
            conn.execute(
                update(ScheduleRow)
                .where(ScheduleRow.id == schedule.id)
                .values(next_fire_at=overdue)
            )
        deadline = time.monotonic() + 60
        while not store.list_fires(schedule.id):
            assert time.monotonic() < deadline, "no worker fired the schedule"
            time.sleep(0.1)
        time.sleep(3)  # three more ticks of each worker
        fires = store.list_fires(schedule.id)
        # One fire, or two when a minute began meanwhile: never one fire time twice.
        assert 1 <= len(fires) <= 2
        assert len({f.fire_time for f in fires}) == len(fires)
        ids = [f.execution_id for f in fires]
        assert all(ids)
        executions, _ = store.list_executions(trigger="schedule", limit=10)
        assert sorted(e.id for e in executions) == sorted(ids)
        ended = wait_all_ended(store, [i for i in ids if i], timeout=60)
        assert all(str(r.status) == "succeeded" for r in ended.values()), ended
        claimed = claims(store)
        assert all(len(claimed[i]) == 1 for i in ids if i)
    finally:
        for worker in workers:
            worker.stop()
        store.close()
