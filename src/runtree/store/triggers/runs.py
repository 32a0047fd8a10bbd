"""What a trigger queues: a :class:`RunSpec`, and :func:`enqueue` to queue it (the
execution, with the plan of its deterministic replay when it is one)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ...models import ExecutionRecord, Trigger, VersionRecord
from .. import executions, worlds
from ..access import AuditEntry


@dataclasses.dataclass(frozen=True, slots=True)
class RunSpec:
    """What to queue: ``version`` with ``input``, calls resolved to ``versions``."""

    version: VersionRecord
    input: Any
    versions: Mapping[str, int]
    trigger: Trigger
    replay_of: str | None = None
    private_input: Any = None  # the unredacted input, when ``input`` had secrets redacted
    # A deterministic replay: the execution whose recording of the outside world it replays.
    replay_world: str | None = None
    shadow_report_id: str | None = None  # set for shadow runs (trigger ``shadow``) only


def enqueue(
    session: Session,
    spec: RunSpec,
    now: datetime.datetime,
    audit: AuditEntry | None = None,
) -> ExecutionRecord:
    """Queue ``spec`` (with ``audit``, its target followed by the execution's id: see
    :func:`..executions.enqueue_execution`)."""
    execution = executions.enqueue_execution(
        session,
        version=spec.version,
        trigger=str(spec.trigger),
        input=spec.input,
        versions=spec.versions,
        replay_of=spec.replay_of,
        now=now,
        private_input=spec.private_input,
        shadow_report_id=spec.shadow_report_id,
        audit=audit,
    )
    if spec.replay_world is not None:
        worlds.plan_replay(session, execution.id, spec.replay_world)
    return execution
