"""Schedules: run a function at the times a cron expression names, in a time zone.

Cron expressions are parsed and stepped by ``cronsim`` (the evaluator of healthchecks.io),
which follows Debian cron across daylight-saving changes: a time that does not exist that day
(02:30 when clocks jump from 02:00 to 03:00) fires once, at the first moment after the gap,
and a time that happens twice (02:30 when clocks go back) fires once, at its first
occurrence; fixed-interval expressions (``*/15 * * * *``) keep firing every 15 real minutes.

:class:`Scheduler` is the loop inside ``runtree serve``. Every server process may run one:
a fire time runs at most once because its ``(schedule_id, fire_time)`` row is unique in the
database (see :meth:`runtree.store.Store.fire_schedule`), not because of anything kept in
memory. After downtime, the fire times missed while no scheduler ran are run once, not once
per missed time: the latest of them runs, marked ``late`` with the number of ``missed`` ones.
"""

from __future__ import annotations

import datetime
import logging
import threading
import zoneinfo
from collections.abc import Callable
from typing import Any

from cronsim import CronSim, CronSimError

from ..errors import InvalidSchedule
from ..execution.dispatcher import Dispatcher
from ..execution.inputs import bind_input
from ..instrument.signature import EntrySignature
from ..models import ExecutionRecord, Permission, ScheduleFireRecord, ScheduleRecord, Trigger
from ..store import AuditEntry, NotFoundError, RunSpec, Store
from .access import Principal, authorize
from .deploy import validate_name
from .executions import resolve_versions, split_secrets

log = logging.getLogger("runtree.scheduler")

UTC = datetime.UTC
# A fire time run later than this after its time is marked late (the scheduler wakes every
# second or so; only downtime or a stalled server makes it this late).
LATE_AFTER = datetime.timedelta(seconds=60)
# Missed fire times are counted one by one up to this many (then "at least this many").
MAX_CATCH_UP = 100_000
MAX_CRON_LENGTH = 200
PRUNE_EVERY = datetime.timedelta(hours=1)
IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(UTC)


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidSchedule(
            "timezone", f"unknown time zone {name!r} (IANA names such as UTC or Europe/Amsterdam)"
        ) from None


def check_cron(expression: str) -> str:
    """The expression, normalized (single spaces); :class:`InvalidSchedule` if invalid."""
    text = " ".join(str(expression).split())
    if not text or len(text) > MAX_CRON_LENGTH:
        raise InvalidSchedule("cron", "cron must be a five-field cron expression")
    try:
        CronSim(text, datetime.datetime(2000, 1, 1, tzinfo=UTC))
    except (CronSimError, ValueError, KeyError, IndexError) as error:
        raise InvalidSchedule("cron", f"invalid cron expression {text!r}: {error}") from None
    return text


def next_fire_after(cron: str, timezone: str, moment: datetime.datetime) -> datetime.datetime:
    """The first fire time strictly after ``moment`` (UTC in, UTC out)."""
    local = moment.astimezone(zone(timezone))
    try:
        fire = next(CronSim(cron, local))
    except StopIteration:  # an expression that never matches (30 February)
        raise InvalidSchedule("cron", f"{cron!r} never fires") from None
    return fire.astimezone(UTC)


def describe(cron: str) -> str:
    """Cron in words (``At 03:00``), or the expression itself."""
    try:
        return str(CronSim(cron, datetime.datetime(2000, 1, 1, tzinfo=UTC)).explain())
    except Exception:  # explain() does not cover every expression
        return cron


# --- managing schedules ---------------------------------------------------------------------


def create_schedule(
    store: Store,
    principal: Principal,
    namespace: str,
    name: str,
    *,
    cron: str,
    timezone: str = "UTC",
    input: dict[str, Any] | None = None,
    version: int | None = None,
    now: datetime.datetime | None = None,
) -> ScheduleRecord:
    """Create a schedule (developer role in ``namespace``); its input is checked against
    the function's entry point now. Its secrets (by parameter or key name, as for any input)
    are kept sealed and shown redacted. Audited as ``schedule.create``."""
    validate_name("namespace", namespace)
    validate_name("name", name)
    authorize(principal, Permission.MANAGE_TRIGGERS, namespace)
    cron = check_cron(cron)
    zone(timezone)
    data = {} if input is None else input
    if not isinstance(data, dict):
        raise InvalidSchedule("input", "input must be a JSON object of parameter names")
    entry = store.require_version(namespace, name, version)
    bind_input(EntrySignature.from_dict(entry.signature), data)
    first = next_fire_after(cron, timezone, now or utcnow())
    public_input, private_input = split_secrets(data)
    return store.create_schedule(
        namespace=namespace,
        name=name,
        version=version,
        cron=cron,
        timezone=timezone,
        input=public_input,
        private_input=private_input,
        next_fire_at=first,
        created_by=principal.actor,
        audit=AuditEntry(
            actor=principal.actor,
            action="schedule.create",
            target=f"schedule {{id}} of {namespace}/{name}",
            namespace=namespace,
            details={"cron": cron, "timezone": timezone, "version": version},
        ),
    )


def list_schedules(
    store: Store, principal: Principal, namespace: str | None = None
) -> list[ScheduleRecord]:
    return store.list_schedules(principal.scope(namespace))


def get_schedule(store: Store, principal: Principal, schedule_id: int) -> ScheduleRecord:
    record = store.get_schedule(schedule_id)
    if record is None or not principal.allows(Permission.READ, record.namespace):
        raise NotFoundError("schedule", str(schedule_id))
    return record


def set_paused(
    store: Store, principal: Principal, schedule_id: int, paused: bool
) -> ScheduleRecord:
    """Pause or resume (developer role in its namespace). Resuming skips the fire times
    that passed while paused: the next one is the first after now."""
    record = get_schedule(store, principal, schedule_id)
    authorize(principal, Permission.MANAGE_TRIGGERS, record.namespace)
    upcoming = None if paused else next_fire_after(record.cron, record.timezone, utcnow())
    return store.set_schedule_paused(
        schedule_id,
        paused=paused,
        next_fire_at=upcoming,
        audit=AuditEntry(
            actor=principal.actor,
            action="schedule.pause" if paused else "schedule.resume",
            target=f"schedule {schedule_id} of {record.qualified_name}",
            namespace=record.namespace,
        ),
    )


def delete_schedule(store: Store, principal: Principal, schedule_id: int) -> ScheduleRecord:
    record = get_schedule(store, principal, schedule_id)
    authorize(principal, Permission.MANAGE_TRIGGERS, record.namespace)
    return store.delete_schedule(
        schedule_id,
        audit=AuditEntry(
            actor=principal.actor,
            action="schedule.delete",
            target=f"schedule {schedule_id} of {record.qualified_name}",
            namespace=record.namespace,
            details={"cron": record.cron, "timezone": record.timezone},
        ),
    )


def list_fires(
    store: Store, principal: Principal, schedule_id: int, limit: int = 50
) -> list[ScheduleFireRecord]:
    get_schedule(store, principal, schedule_id)
    return store.list_fires(schedule_id, limit)


# --- the scheduler loop ---------------------------------------------------------------------


def due_fire(
    schedule: ScheduleRecord, now: datetime.datetime
) -> tuple[datetime.datetime, int, datetime.datetime]:
    """For a due schedule: ``(fire_time, missed, next_fire_at)`` -- the latest fire time at
    or before ``now``, how many earlier ones were missed, and the first one after ``now``."""
    fire = schedule.next_fire_at
    missed = 0
    while missed < MAX_CATCH_UP:
        following = next_fire_after(schedule.cron, schedule.timezone, fire)
        if following > now:
            return fire, missed, following
        fire = following
        missed += 1
    # Down for longer than MAX_CATCH_UP fire times: jump to the latest one directly.
    local = now.astimezone(zone(schedule.timezone)) + datetime.timedelta(seconds=1)
    latest = next(CronSim(schedule.cron, local, reverse=True)).astimezone(UTC)
    latest = max(latest, fire)
    return latest, missed, next_fire_after(schedule.cron, schedule.timezone, now)


class Scheduler:
    """Fires due schedules: :meth:`tick` once, or :meth:`start` a thread that ticks every
    ``interval`` seconds until :meth:`stop`. Safe to run in several processes at once."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher | None = None,
        *,
        interval: float = 1.0,
        clock: Callable[[], datetime.datetime] = utcnow,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.interval = interval
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune: datetime.datetime | None = None

    def tick(self, now: datetime.datetime | None = None) -> list[ExecutionRecord]:
        """Run every due fire time; returns the executions this call queued."""
        moment = now or self.clock()
        started: list[ExecutionRecord] = []
        for schedule in self.store.due_schedules(moment):
            try:
                execution = self._fire(schedule, moment)
            except Exception:
                log.exception(
                    "schedule %s (%s) could not fire", schedule.id, schedule.qualified_name
                )
                continue
            if execution is not None:
                started.append(execution)
        if started and self.dispatcher is not None:
            self.dispatcher.notify()
        self._prune(moment)
        return started

    def _fire(self, schedule: ScheduleRecord, now: datetime.datetime) -> ExecutionRecord | None:
        fire_time, missed, upcoming = due_fire(schedule, now)
        late = missed > 0 or now - fire_time > LATE_AFTER
        entry = self.store.get_version(schedule.namespace, schedule.name, schedule.version)
        spec = None
        if entry is None:
            log.warning(
                "schedule %s: %s is gone; fire time %s skipped",
                schedule.id,
                schedule.qualified_name,
                fire_time.isoformat(),
            )
        else:
            # Not validated here: an input that no longer fits fails the execution visibly.
            # The input's secrets are redacted; the store adds the sealed real values.
            spec = RunSpec(
                version=entry,
                input=schedule.input,
                versions=resolve_versions(self.store, entry),
                trigger=Trigger.SCHEDULE,
            )
        execution = self.store.fire_schedule(
            schedule.id,
            expected_next=schedule.next_fire_at,
            fire_time=fire_time,
            late=late,
            missed=missed,
            next_fire_at=upcoming,
            spec=spec,
            now=now,
        )
        if execution is not None and late:
            log.warning(
                "schedule %s (%s): fire time %s ran late (%d missed)",
                schedule.id,
                schedule.qualified_name,
                fire_time.isoformat(),
                missed,
            )
        return execution

    def _prune(self, now: datetime.datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            self.store.prune_idempotency_keys(now - IDEMPOTENCY_WINDOW)
        except Exception:
            log.exception("could not prune expired idempotency keys")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="runtree-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            self._stop.wait(self.interval)
