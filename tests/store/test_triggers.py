"""Triggers under concurrency, on SQLite and PostgreSQL: a schedule's fire time runs once
however many processes tick at the same moment (the database decides, through a unique
constraint), and concurrent deliveries with one idempotency key start one execution."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import multiprocessing
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from runtree.errors import InvalidDataError
from runtree.models import Trigger
from runtree.service import Principal, deploy
from runtree.service import schedules as schedule_service
from runtree.service.executions import resolve_versions
from runtree.store import DeliveryData, RunSpec, Store
from runtree.store.access import AuditEntry
from runtree.store.schema import ScheduleFireRow

UTC = datetime.UTC
SOURCE = "def job(n: int = 0):\n    return n\n"
FIRE = datetime.datetime(2030, 1, 1, 3, 0, tzinfo=UTC)


def _schedule(store: Store) -> int:
    deploy(store, "default", "job", SOURCE)
    record = schedule_service.create_schedule(
        store,
        Principal.local(),
        "default",
        "job",
        cron="0 3 * * *",
        timezone="UTC",
        input={"n": 1},
        now=FIRE - datetime.timedelta(hours=1),
    )
    assert record.next_fire_at == FIRE
    return record.id


def _tick_many(url: str, barrier: Any, results: Any, now: datetime.datetime, ticks: int) -> None:
    with Store(url) as store:
        scheduler = schedule_service.Scheduler(store)
        barrier.wait(60)
        results.put(sum(len(scheduler.tick(now)) for _ in range(ticks)))


@pytest.mark.slow
def test_a_fire_time_runs_once_across_processes(db_url: str) -> None:
    with Store(db_url) as store:
        schedule_id = _schedule(store)
    processes = 4
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    now = FIRE + datetime.timedelta(seconds=1)
    results = context.Queue()
    workers = [
        context.Process(target=_tick_many, args=(db_url, barrier, results, now, 5))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    started = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert sum(started) == 1
    with Store(db_url) as store:
        runs, _ = store.list_executions(trigger="schedule")
        fires = store.list_fires(schedule_id)
        schedule = store.get_schedule(schedule_id)
    assert len(runs) == 1 and runs[0].input == {"n": 1}
    assert [(f.fire_time, f.execution_id, f.late) for f in fires] == [(FIRE, runs[0].id, False)]
    assert schedule is not None and schedule.next_fire_at == FIRE + datetime.timedelta(days=1)


def test_the_database_refuses_a_second_row_for_a_fire_time(store: Store) -> None:
    schedule_id = _schedule(store)
    row = {
        "schedule_id": schedule_id,
        "fire_time": FIRE,
        "execution_id": None,
        "fired_at": FIRE,
        "late": False,
        "missed": 0,
    }
    with store.engine.begin() as conn:
        conn.execute(insert(ScheduleFireRow), [row])
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(ScheduleFireRow), [row])


def test_fire_schedule_with_a_taken_fire_time_queues_nothing(store: Store) -> None:
    schedule_id = _schedule(store)
    entry = store.get_version("default", "job")
    assert entry is not None
    spec = RunSpec(
        version=entry,
        input={"n": 1},
        versions=resolve_versions(store, entry),
        trigger=Trigger.SCHEDULE,
    )
    first = store.fire_schedule(
        schedule_id,
        expected_next=FIRE,
        fire_time=FIRE,
        late=False,
        missed=0,
        next_fire_at=FIRE,
        spec=spec,
        now=FIRE,
    )
    assert first is not None
    # Another process that read the schedule before the first fired, with the next fire
    # time not yet moved (simulated: next_fire_at kept equal), finds the row taken.
    again = store.fire_schedule(
        schedule_id,
        expected_next=FIRE,
        fire_time=FIRE,
        late=False,
        missed=0,
        next_fire_at=FIRE,
        spec=spec,
        now=FIRE,
    )
    assert again is None
    assert len(store.list_executions(trigger="schedule")[0]) == 1


def test_downtime_runs_the_latest_missed_fire_time_once_marked_late(store: Store) -> None:
    schedule_id = _schedule(store)
    scheduler = schedule_service.Scheduler(store)
    back = FIRE + datetime.timedelta(days=3, hours=5)  # down over four fire times
    started = scheduler.tick(back)
    assert len(started) == 1
    assert scheduler.tick(back + datetime.timedelta(seconds=5)) == []
    (fire,) = store.list_fires(schedule_id)
    assert fire.fire_time == FIRE + datetime.timedelta(days=3)
    assert fire.late and fire.missed == 3
    schedule = store.get_schedule(schedule_id)
    assert schedule is not None
    assert schedule.next_fire_at == FIRE + datetime.timedelta(days=4)


def test_concurrent_deliveries_with_one_key_start_one_execution(store: Store) -> None:
    deploy(store, "default", "job", SOURCE)
    webhook = store.create_webhook(
        path="hook",
        namespace="default",
        name="job",
        version=None,
        verify="none",
        secret=None,
        mode="async",
        sync_timeout_s=10.0,
        created_by=None,
    )
    entry = store.get_version("default", "job")
    assert entry is not None
    spec = RunSpec(version=entry, input={}, versions={"job": 1}, trigger=Trigger.WEBHOOK)
    data = DeliveryData(
        path="hook", method="POST", query_string="", headers=[], body=b"{}", body_size=2
    )
    window = datetime.timedelta(hours=24)

    def deliver(_: int) -> tuple[str, bool]:
        _, execution, duplicate = store.accept_delivery(webhook.id, data, "key-1", spec, window)
        return execution.id, duplicate

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(deliver, range(8)))
    assert len({execution_id for execution_id, _ in results}) == 1
    assert sorted(duplicate for _, duplicate in results) == [False] + [True] * 7
    assert len(store.list_executions(trigger="webhook")[0]) == 1
    statuses = sorted(d.status for d in store.list_deliveries(path="hook")[0])
    assert statuses == ["accepted"] + ["duplicate"] * 7


def test_enqueue_spec_writes_its_audit_entry_in_the_same_transaction(store: Store) -> None:
    deploy(store, "default", "job", SOURCE)
    entry = store.get_version("default", "job")
    assert entry is not None
    spec = RunSpec(version=entry, input={"n": 2}, versions={"job": 1}, trigger=Trigger.API)
    audit = AuditEntry(
        actor="key ab12",
        action="execution.start",
        target="default/job",
        namespace="default",
        details={"trigger": "api"},
    )
    execution = store.enqueue_spec(spec, audit=audit)
    (logged,), _ = store.list_audit(action="execution.start")
    assert (logged.actor, logged.target, logged.namespace, logged.details) == (
        "key ab12",
        f"default/job {execution.id}",
        "default",
        {"trigger": "api"},
    )
    assert logged.at == execution.queued_at
    # An entry that cannot be written leaves no execution behind.
    bad = dataclasses.replace(audit, details={"x": float("nan")})
    with pytest.raises(InvalidDataError):
        store.enqueue_spec(spec, audit=bad)
    assert [e.id for e in store.list_executions()[0]] == [execution.id]
    assert len(store.list_audit(action="execution.start")[0]) == 1
