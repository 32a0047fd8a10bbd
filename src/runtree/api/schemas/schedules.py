"""Schedules and their fire times."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from ...models import (
    ExecutionRecord,
    ScheduleFireRecord,
    ScheduleRecord,
)
from ...service.schedules import describe, next_fire_after
from .base import FUNCTION_PATTERN, MAX_VERSION, RequestModel, ResponseModel, from_record
from .executions import ExecutionBrief, execution_brief


class ScheduleRequest(RequestModel):
    function: str = Field(
        pattern=FUNCTION_PATTERN,
        max_length=201,
        description="namespace/name, or name in namespace default.",
    )
    cron: str = Field(
        max_length=200,
        description="Five-field cron: minute hour day month weekday (e.g. 0 3 * * *).",
    )
    timezone: str = Field(
        default="UTC", max_length=100, description="IANA time zone the cron fields are read in."
    )
    input: dict[str, Any] = Field(default_factory=dict, description="Arguments by name.")
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class ScheduleOut(ResponseModel):
    id: int
    function: str
    namespace: str
    name: str
    version: int | None
    cron: str
    description: str
    timezone: str
    input: dict[str, Any]
    paused: bool
    next_fire_at: datetime.datetime
    upcoming: list[datetime.datetime] = Field(
        default_factory=list, description="The next fire times (UTC; none while paused)."
    )
    last_fire_at: datetime.datetime | None
    created_at: datetime.datetime
    created_by: str | None


class FireOut(ResponseModel):
    """A fire time that ran: ``late`` when well after its time, ``missed`` earlier fire
    times skipped for it (the server was down)."""

    fire_time: datetime.datetime
    execution_id: str | None
    execution: ExecutionBrief | None = None
    fired_at: datetime.datetime
    late: bool
    missed: int


class ScheduleDetail(ScheduleOut):
    fires: list[FireOut]


class ScheduleList(ResponseModel):
    schedules: list[ScheduleOut]


UPCOMING_FIRES = 5


def upcoming_fires(record: ScheduleRecord) -> list[datetime.datetime]:
    """The schedule's next fire times from ``next_fire_at`` on (none while it is paused)."""
    if record.paused:
        return []
    fires = [record.next_fire_at]
    while len(fires) < UPCOMING_FIRES:
        fires.append(next_fire_after(record.cron, record.timezone, fires[-1]))
    return fires


def schedule_out(record: ScheduleRecord) -> ScheduleOut:
    return from_record(ScheduleOut, record, **_schedule_derived(record))


def _schedule_derived(record: ScheduleRecord) -> dict[str, Any]:
    """The members of a schedule's document its record does not hold as they are."""
    return {
        "function": record.qualified_name,
        "description": describe(record.cron),
        "upcoming": upcoming_fires(record),
    }


def fire_out(
    record: ScheduleFireRecord, executions: Mapping[str, ExecutionRecord] | None = None
) -> FireOut:
    execution = (executions or {}).get(record.execution_id or "")
    return from_record(FireOut, record, execution=execution_brief(execution))


def schedule_detail(
    record: ScheduleRecord,
    fires: list[ScheduleFireRecord],
    executions: Mapping[str, ExecutionRecord] | None = None,
) -> ScheduleDetail:
    return from_record(
        ScheduleDetail,
        record,
        **_schedule_derived(record),
        fires=[fire_out(f, executions) for f in fires],
    )
