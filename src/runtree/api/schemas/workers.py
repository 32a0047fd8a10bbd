"""The workers and queues (``GET /workers``)."""

from __future__ import annotations

import datetime

from pydantic import Field

from .base import ResponseModel


class WorkerOut(ResponseModel):
    """A process that runs executions, as it last reported itself."""

    id: str = Field(description="`kind:host:pid`.")
    kind: str = Field(description="`worker` (`runtree worker`) or `server` (`runtree serve`).")
    host: str
    pid: int
    slots: int = Field(description="Executions it runs at once (0: a server running none).")
    queues: list[str]
    state: str = Field(description="`live`, `stopping` (no new work), or `lost` (no heartbeat).")
    started_at: datetime.datetime
    heartbeat_at: datetime.datetime
    running: list[str] = Field(description="The executions it runs now.")


class QueueOut(ResponseModel):
    """One queue: executions waiting in it and running from it."""

    queue: str
    waiting: int
    running: int


class WorkersOut(ResponseModel):
    """Every recorded worker, live ones first, and every queue's depth."""

    workers: list[WorkerOut]
    queues: list[QueueOut]
    heartbeat_s: float = Field(description="Seconds between heartbeats; 4 missed: lost.")
