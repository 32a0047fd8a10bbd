"""The client's calls on schedules: create, list, read with its fires, pause, resume,
delete."""

from __future__ import annotations

from typing import Any

from ..models import ScheduleFireRecord, ScheduleRecord
from .records import schedule_fire_record, schedule_record
from .transport import Transport


class SchedulesApi(Transport):
    """``/schedules``."""

    def create_schedule(
        self,
        namespace: str,
        name: str,
        *,
        cron: str,
        timezone: str,
        input: dict[str, Any],
        version: int | None,
    ) -> ScheduleRecord:
        body = {
            "function": f"{namespace}/{name}",
            "cron": cron,
            "timezone": timezone,
            "input": input,
            "version": version,
        }
        return schedule_record(self._json("POST", "/schedules", json=body))

    def list_schedules(self, namespace: str | None = None) -> list[ScheduleRecord]:
        params = {} if namespace is None else {"namespace": namespace}
        return [
            schedule_record(s) for s in self._json("GET", "/schedules", params=params)["schedules"]
        ]

    def get_schedule(self, schedule_id: int) -> tuple[ScheduleRecord, list[ScheduleFireRecord]]:
        data = self._json("GET", f"/schedules/{schedule_id}")
        fires = [schedule_fire_record(schedule_id, f) for f in data["fires"]]
        return schedule_record(data), fires

    def set_schedule_paused(self, schedule_id: int, paused: bool) -> ScheduleRecord:
        action = "pause" if paused else "resume"
        return schedule_record(self._json("POST", f"/schedules/{schedule_id}/{action}"))

    def delete_schedule(self, schedule_id: int) -> ScheduleRecord:
        return schedule_record(self._json("DELETE", f"/schedules/{schedule_id}"))
