"""Running one claimed execution end to end: job from the store, worker, steps back in.

Used by the server's dispatcher and by the CLI's local runs alike, so execution semantics do
not depend on who runs it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ..defaults import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from ..environment import environment_value
from ..errors import InputError, SecretKeyError
from ..instrument.signature import EntrySignature
from ..models import ExecutionRecord, Trigger
from ..store import Store
from ..tracking.capture import REDACTED
from .inputs import bind_input
from .job import FunctionSource, Job
from .supervisor import CANCELLED, CRASHED, FAILED, Outcome, Supervisor
from .world.reach import reach_of

log = logging.getLogger("runtree.execution")
# Each execution's start and end, for the server's log (INFO; not shown by the CLI).
lifecycle_log = logging.getLogger("runtree.executions")

DEFAULT_HTTP_MAX_BYTES = 16 * 1024 * 1024  # HTTP interactions kept per execution


class RunObserver(Protocol):
    """Told what a runner does (the server's metrics). Called from the runner's thread; each
    call must be cheap and must not raise."""

    def started(self, execution: ExecutionRecord) -> None: ...

    def steps_saved(self, count: int) -> None: ...

    def finished(self, execution: ExecutionRecord) -> None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class WorldOptions:
    """Recording what runs get from the outside world (README, "Deterministic replay"):
    on or off, the bytes of HTTP interactions kept per execution, and names redacted besides
    the default secret names."""

    record: bool = True
    http_max_bytes: int = DEFAULT_HTTP_MAX_BYTES
    redact_fields: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls) -> WorldOptions:
        """From ``RUNTREE_RECORD_WORLD``, ``RUNTREE_RECORD_HTTP_MAX_BYTES`` and
        ``RUNTREE_REDACT_FIELDS``; :class:`~runtree.errors.SettingError` for a bad value."""
        record = environment_value("RUNTREE_RECORD_WORLD")
        limit = environment_value("RUNTREE_RECORD_HTTP_MAX_BYTES")
        fields = environment_value("RUNTREE_REDACT_FIELDS")
        return cls(
            record=True if record is None else record,
            http_max_bytes=DEFAULT_HTTP_MAX_BYTES if limit is None else limit,
            redact_fields=fields or (),
        )


class ExecutionRunner:
    """Runs executions that are already ``running`` (claimed) and records how they end.
    ``observer``, when given, is told of each start, each batch of steps stored and each end.
    ``world``: what runs record of the outside world (default: from the environment)."""

    def __init__(
        self,
        store: Store,
        supervisor: Supervisor,
        observer: RunObserver | None = None,
        world: WorldOptions | None = None,
    ) -> None:
        self.store = store
        self.supervisor = supervisor
        self.observer = observer
        self.world = WorldOptions.from_environment() if world is None else world

    def build_job(self, execution: ExecutionRecord) -> Job:
        """The job for ``execution``: its pinned versions, its input bound to the entry point."""
        versions = self.store.get_versions(
            execution.namespace, {**execution.versions, execution.name: execution.version}
        )
        entry = versions.get(execution.name)
        if entry is None:
            raise LookupError(
                f"{execution.namespace}/{execution.name} v{execution.version} is gone"
            )
        functions = {execution.name: _source_of(entry.source, entry.number, entry.settings)}
        for name in execution.versions:
            version = versions.get(name)
            if name != execution.name and version is not None:
                functions[name] = _source_of(version.source, version.number, version.settings)
        data = execution.input or {}
        if _may_hold_secrets(data):  # the real values of redacted secrets live apart
            private = self.store.private_input(execution.id)
            if private is not None:
                data = private
        args, kwargs = bind_input(EntrySignature.from_dict(entry.signature), data)
        # A shadow run replays a recorded input: it must not reach the outside world (charge
        # a card twice ...), whatever the version allows.
        network = bool(entry.settings.get("network", False))
        network = network and execution.trigger is not Trigger.SHADOW
        world = self._world_spec(execution, network)
        if world is not None and world["mode"] == "replay":
            network = False  # the outside world comes from the recording, and only from it
        elif world is not None:
            # Code that cannot reach an HTTP client, or the clock and randomness either, runs
            # in a zygote without them (see .world.reach): recording it costs less.
            world["reach"] = reach_of(f.source for f in functions.values())
        return Job(
            execution_id=execution.id,
            namespace=execution.namespace,
            entry=execution.name,
            functions=functions,
            args=args,
            kwargs=kwargs,
            timeout_s=float(entry.settings.get("timeout_s", DEFAULT_TIMEOUT_S)),
            memory_mb=int(entry.settings.get("memory_mb", DEFAULT_MEMORY_MB)),
            network=network,
            subprocesses=bool(entry.settings.get("subprocesses", False)),
            world=world,
        )

    def _world_spec(self, execution: ExecutionRecord, network: bool) -> dict[str, Any] | None:
        """The job's ``world`` (see :class:`~runtree.execution.world.Session`): a deterministic
        replay's recording to replay, else recording when it is on."""
        options = self.world
        names = list(options.redact_fields)
        plan = self.store.get_world(execution.id) if execution.trigger == "replay" else None
        if plan is not None and plan.mode == "replay":
            source = (
                None if plan.replay_source is None else self.store.get_world(plan.replay_source)
            )
            if source is None or source.recording is None:
                raise LookupError(
                    "the recording this deterministic replay was to use is gone "
                    f"(execution {plan.replay_source or 'deleted'})"
                )
            return {
                "mode": "replay",
                "recording": source.recording,
                "source": f"the recording of execution {plan.replay_source}",
                "secret_names": names,
            }
        if not options.record:
            return None
        return {
            "mode": "record",
            "http_limit": options.http_max_bytes,
            "secret_names": names,
            "network": network,
        }

    def run(
        self,
        execution: ExecutionRecord,
        cancel: threading.Event | None = None,
        slot: int | None = None,
        hand_back: threading.Event | None = None,
    ) -> ExecutionRecord:
        """Run a claimed execution and store its steps and its end. Never raises for
        anything the user's code does. ``slot``: the dispatcher slot running it (its sandbox
        uid); ``None``: any free one. Shadow runs are not shown to the observer (they are
        not runs of the function, and its metrics count those). ``hand_back`` set together
        with ``cancel`` (a worker that stops): instead of ending ``cancelled``, the execution
        goes back to the queue to run again from the start
        (:meth:`~runtree.store.Store.requeue_execution`)."""
        observer = None if execution.trigger is Trigger.SHADOW else self.observer
        _log_lifecycle("started", execution)
        if observer is not None:
            observer.started(execution)
        record = self._run(execution, cancel, slot, observer, hand_back)
        if observer is not None:
            observer.finished(record)
        _log_lifecycle("finished", record)
        return record

    def _run(
        self,
        execution: ExecutionRecord,
        cancel: threading.Event | None,
        slot: int | None,
        observer: RunObserver | None,
        hand_back: threading.Event | None = None,
    ) -> ExecutionRecord:
        try:
            job = self.build_job(execution)
        except (InputError, LookupError, SecretKeyError) as error:
            return self.store.finish_execution(
                execution.id, status=FAILED, error=_error(type(error).__name__, str(error))
            )

        def save(steps: list[dict[str, Any]]) -> None:
            self.store.save_steps(execution.id, steps)
            if observer is not None:
                observer.steps_saved(len(steps))

        try:
            outcome = self.supervisor.run(
                job, on_steps=save, cancel=cancel, keep_final_steps=True, slot=slot
            )
        except Exception as error:  # the engine itself failed: the execution must not hang
            outcome = _engine_error(error)
        if (
            hand_back is not None
            and hand_back.is_set()
            and outcome.status == CANCELLED
            and execution.worker_id is not None
            and self.store.requeue_execution(execution.id, execution.worker_id)
        ):
            record = self.store.get_execution(execution.id)
            return execution if record is None else record
        # The recording (or a replay's report) is stored with the end, in its transaction.
        world = outcome.world
        output = outcome.output.get("preview") if outcome.output else None
        problem = outcome.error
        if outcome.stdout and problem is not None:
            problem = {**problem, "stdout": outcome.stdout}
        if outcome.steps:
            # The last batch of steps and the end in one transaction.
            try:
                record = self.store.finish_execution(
                    execution.id,
                    status=outcome.status,
                    output=output,
                    error=problem,
                    steps=outcome.steps,
                    world=world,
                )
                if observer is not None:
                    observer.steps_saved(len(outcome.steps))
                return record
            except Exception as error:  # as when saving a streamed batch fails
                outcome = _engine_error(error)
                output, problem = None, outcome.error
        try:
            return self.store.finish_execution(
                execution.id, status=outcome.status, output=output, error=problem, world=world
            )
        except Exception as error:  # its worker is gone: it must not stay running
            return self.store.finish_execution(
                execution.id,
                status=CRASHED,
                output=None,
                error=_engine_error(error).error,
                world=world,
            )


class NotifyingRunner(ExecutionRunner):
    """An :class:`ExecutionRunner` that reports every execution it finishes to
    ``on_finished`` (errors in the callback are logged, never raised into the dispatcher)."""

    def __init__(
        self,
        store: Store,
        supervisor: Supervisor,
        on_finished: Callable[[ExecutionRecord], None],
        observer: RunObserver | None = None,
        world: WorldOptions | None = None,
    ) -> None:
        super().__init__(store, supervisor, observer, world)
        self._on_finished = on_finished

    def run(
        self,
        execution: ExecutionRecord,
        cancel: threading.Event | None = None,
        slot: int | None = None,
        hand_back: threading.Event | None = None,
    ) -> ExecutionRecord:
        record = super().run(execution, cancel, slot, hand_back)
        try:
            self._on_finished(record)
        except Exception:
            log.exception("completion callback failed for execution %s", record.id)
        return record


def _log_lifecycle(event: str, execution: ExecutionRecord) -> None:
    """One ``runtree.executions`` record per start and end (structured ``fields`` for the
    server's JSON log, :mod:`runtree.api.logs`)."""
    if not lifecycle_log.isEnabledFor(logging.INFO):
        return
    function = f"{execution.namespace}/{execution.name}"
    fields = {
        "event": f"execution.{event}",
        "execution_id": execution.id,
        "function": function,
        "version": execution.version,
        "trigger": str(execution.trigger),
        "status": str(execution.status),
    }
    if execution.duration_ms is not None:
        fields["duration_ms"] = execution.duration_ms
    lifecycle_log.info(
        "execution %s %s: %s v%d %s",
        execution.id,
        event,
        function,
        execution.version,
        execution.status,
        extra={"fields": fields},
    )


def _source_of(source: str, number: int, settings: dict[str, Any]) -> FunctionSource:
    return FunctionSource(
        source=source, version=number, tracking=bool(settings.get("tracking", True))
    )


def _engine_error(error: Exception) -> Outcome:
    return Outcome(CRASHED, error=_error("EngineError", f"{type(error).__name__}: {error}"))


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "traceback": [], "step_id": None}


def _may_hold_secrets(data: Any) -> bool:
    """Whether a stored input had values redacted (cheap: only those need a second read)."""
    return REDACTED in json.dumps(data)
