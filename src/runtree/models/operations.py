"""Keeping the platform running: crash recovery, retention policies, workers and queues."""

from __future__ import annotations

import dataclasses
import datetime
import enum


@dataclasses.dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What :meth:`runtree.store.Store.recover` changed: executions marked ``crashed``,
    steps marked ``interrupted``, and executions left ``queued`` (to be run again)."""

    crashed: int
    interrupted_steps: int
    queued: int


class RetentionKind(enum.StrEnum):
    """What a retention policy limits."""

    EXECUTIONS = "executions"  # with their steps and everything else recorded of them
    DELIVERIES = "deliveries"  # webhook deliveries (requests received on /hooks/...)
    AUDIT = "audit"  # audit log entries


# The namespace of the executions policy that applies to every namespace without its own.
EVERY_NAMESPACE = "*"


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionPolicyRecord:
    """How long one kind of data is kept: ``keep_days`` (older data goes) and, for
    executions, ``keep_last`` (per function, only the newest N stay); each ``None`` when it
    sets no limit, both ``None``: keep everything.

    Executions: ``namespace`` is a namespace or :data:`EVERY_NAMESPACE`; ``function`` a
    function name, or ``""`` for the whole namespace. Deliveries and audit entries have one
    policy each, for every namespace (``"*"``, ``""``).
    """

    kind: RetentionKind
    namespace: str
    function: str
    keep_days: int | None
    keep_last: int | None
    updated_at: datetime.datetime
    updated_by: str | None

    @property
    def target(self) -> str:
        """What the policy covers, as the CLI names it: ``*``, ``NS``, ``NS/NAME``, or
        ``deliveries`` / ``audit``."""
        if self.kind is not RetentionKind.EXECUTIONS:
            return self.kind.value
        return f"{self.namespace}/{self.function}" if self.function else self.namespace


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A process that runs executions, as it last reported itself. ``kind`` is ``worker``
    (``runtree worker``) or ``server`` (``runtree serve``'s own slots); ``live`` is whether
    its heartbeat is recent; ``running`` lists the executions it runs now (their ids)."""

    id: str
    kind: str
    host: str
    pid: int
    slots: int
    queues: list[str]
    started_at: datetime.datetime
    heartbeat_at: datetime.datetime
    stopping: bool
    live: bool
    running: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class QueueDepth:
    """One queue: executions waiting in it and running from it."""

    queue: str
    waiting: int
    running: int
