"""Schedules: cron and time zones (with daylight saving), the scheduler's fire times."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtree.execution.inputs import InputError
from runtree.service import InvalidSchedule, Principal, deploy
from runtree.service import schedules as schedule_service
from runtree.store import Store

UTC = datetime.UTC
AMSTERDAM = "Europe/Amsterdam"


def utc(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path}/schedules.db") as opened:
        deploy(opened, "default", "job", "def job(n: int = 0):\n    return n\n")
        yield opened


def test_next_fire_is_strictly_after_and_in_the_time_zone() -> None:
    nxt = schedule_service.next_fire_after
    assert nxt("0 3 * * *", "UTC", utc(2025, 1, 1, 3, 0)) == utc(2025, 1, 2, 3, 0)
    assert nxt("0 3 * * *", "UTC", utc(2025, 1, 1, 2, 59, 59)) == utc(2025, 1, 1, 3, 0)
    # 03:00 in Amsterdam is 02:00 UTC in winter and 01:00 UTC in summer.
    assert nxt("0 3 * * *", AMSTERDAM, utc(2025, 1, 10)) == utc(2025, 1, 10, 2, 0)
    assert nxt("0 3 * * *", AMSTERDAM, utc(2025, 7, 10)) == utc(2025, 7, 10, 1, 0)


def test_daylight_saving_days() -> None:
    nxt = schedule_service.next_fire_after
    # Spring forward (2025-03-30, 02:00 -> 03:00): 02:30 does not exist that day; it fires
    # once, at the first moment after the gap, and at 02:30 again the next day.
    spring = nxt("30 2 * * *", AMSTERDAM, utc(2025, 3, 29, 12))
    assert spring == utc(2025, 3, 30, 1, 0)  # 03:00 CEST
    assert nxt("30 2 * * *", AMSTERDAM, spring) == utc(2025, 3, 31, 0, 30)
    # Fall back (2025-10-26, 03:00 -> 02:00): 02:30 happens twice; it fires once.
    fall = nxt("30 2 * * *", AMSTERDAM, utc(2025, 10, 25, 12))
    assert fall == utc(2025, 10, 26, 0, 30)  # the first 02:30 (CEST)
    assert nxt("30 2 * * *", AMSTERDAM, fall) == utc(2025, 10, 27, 1, 30)
    # An interval schedule keeps its real-time rhythm through the repeated hour.
    times = [utc(2025, 10, 25, 23, 45)]
    for _ in range(6):
        times.append(nxt("*/30 * * * *", AMSTERDAM, times[-1]))
    gaps = {b - a for a, b in zip(times[1:], times[2:], strict=False)}
    assert gaps == {datetime.timedelta(minutes=30)}


@pytest.mark.parametrize("cron", ["", "61 * * * *", "* * *", "0 3 * * mon-", "x" * 300])
def test_invalid_cron_names_the_field(cron: str) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        schedule_service.check_cron(cron)
    assert caught.value.field == "cron"


def test_create_checks_cron_zone_and_input(store: Store) -> None:
    local = Principal.local()
    with pytest.raises(InvalidSchedule) as zone:
        schedule_service.create_schedule(
            store, local, "default", "job", cron="0 3 * * *", timezone="Mars/Olympus"
        )
    assert zone.value.field == "timezone"
    with pytest.raises(InputError):
        schedule_service.create_schedule(
            store, local, "default", "job", cron="0 3 * * *", input={"n": "three"}
        )
    record = schedule_service.create_schedule(
        store,
        local,
        "default",
        "job",
        cron="0  3 * * *",
        timezone=AMSTERDAM,
        input={"n": 3},
        now=utc(2025, 1, 10, 12),
    )
    assert record.cron == "0 3 * * *" and record.next_fire_at == utc(2025, 1, 11, 2, 0)
    (entry,) = store.list_audit(action="schedule.create")[0]
    assert entry.target == f"schedule {record.id} of default/job"


def test_on_time_fire_is_not_late_and_a_second_tick_does_nothing(store: Store) -> None:
    record = schedule_service.create_schedule(
        store,
        Principal.local(),
        "default",
        "job",
        cron="*/5 * * * *",
        input={"n": 1},
        now=utc(2025, 1, 1, 11, 58),
    )
    scheduler = schedule_service.Scheduler(store)
    assert scheduler.tick(utc(2025, 1, 1, 11, 59, 59)) == []  # not yet due
    (execution,) = scheduler.tick(utc(2025, 1, 1, 12, 0, 1))
    assert execution.trigger == "schedule" and execution.input == {"n": 1}
    assert scheduler.tick(utc(2025, 1, 1, 12, 0, 2)) == []
    (fire,) = store.list_fires(record.id)
    assert (fire.fire_time, fire.late, fire.missed) == (utc(2025, 1, 1, 12, 0), False, 0)
    late = scheduler.tick(utc(2025, 1, 1, 12, 7))  # two minutes after 12:05: late, not missed
    assert len(late) == 1
    assert store.list_fires(record.id)[0].late is True


def test_paused_schedules_skip_and_resume_from_now(store: Store) -> None:
    local = Principal.local()
    record = schedule_service.create_schedule(
        store, local, "default", "job", cron="* * * * *", now=utc(2025, 1, 1)
    )
    schedule_service.set_paused(store, local, record.id, True)
    scheduler = schedule_service.Scheduler(store)
    assert scheduler.tick(utc(2025, 1, 1, 1)) == []
    resumed = schedule_service.set_paused(store, local, record.id, False)
    assert resumed.next_fire_at > datetime.datetime.now(UTC)
    assert [e.action for e in store.list_audit()[0]][:2] == ["schedule.resume", "schedule.pause"]


def test_a_deleted_function_skips_its_fire_time_without_an_execution(store: Store) -> None:
    record = schedule_service.create_schedule(
        store, Principal.local(), "default", "job", cron="0 * * * *", version=1, now=utc(2025, 1, 1)
    )
    store.engine.dispose()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM versions")
    assert schedule_service.Scheduler(store).tick(utc(2025, 1, 1, 1, 0, 1)) == []
    (fire,) = store.list_fires(record.id)
    assert fire.execution_id is None
