"""Executions: start (validated, versions pinned), wait, run locally, cancel, read back."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Any

from .. import jsonlimits
from ..errors import InputError, InputProblem, JsonTooDeep
from ..execution.dispatcher import Dispatcher
from ..execution.inputs import TOO_DEEP_PROBLEM, bind_input, check_input_depth
from ..execution.launcher import SpawnLauncher
from ..execution.runner import ExecutionRunner
from ..execution.supervisor import Supervisor
from ..instrument.signature import EntrySignature
from ..models import ExecutionRecord, StepRecord, Trigger, VersionRecord
from ..settings import Settings
from ..store import AuditEntry, NotFoundError, RunSpec, Store
from ..tracking.capture import REDACTED, CapturePolicy, redact
from ..tracking.render import render_tree
from .sandbox import probe_sandbox

MAX_INPUT_BYTES = 1024 * 1024


def split_secrets(data: Any) -> tuple[Any, Any]:
    """``(public, private)``: the input with secrets redacted -- by parameter name at the top
    level, by key name below (the same rules as step capture) -- and, only when something was
    redacted, the original, which the store keeps until the execution ends."""
    policy = CapturePolicy()
    if not isinstance(data, dict):
        return data, None
    public: dict[str, Any] = {}
    changed = False
    for key, value in data.items():
        if policy.is_secret(key):
            public[key] = REDACTED
            changed = True
        else:
            public[key], inner = redact(value, policy)
            changed = changed or inner
    return (public, data) if changed else (data, None)


def contains_redactions(value: Any) -> bool:
    """Whether a stored input lost values to redaction (it cannot be replayed as it was)."""
    if value == REDACTED:
        return True
    if isinstance(value, dict):
        return any(contains_redactions(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_redactions(v) for v in value)
    return False


def resolve_versions(store: Store, entry: VersionRecord) -> dict[str, int]:
    """The version of every function ``entry`` can reach by bare name, decided now."""
    pinned = {entry.name: entry.number}
    if not entry.dependencies:
        return pinned
    current = store.current_version_numbers(entry.namespace)
    pending = list(entry.dependencies)
    while pending:
        name = pending.pop()
        if name in pinned or name not in current:
            continue
        number, dependencies = current[name]
        pinned[name] = number
        pending.extend(dependencies)
    return pinned


def prepare_execution(
    store: Store,
    namespace: str,
    name: str,
    input: Any = None,
    *,
    version: int | None = None,
    trigger: Trigger | str = Trigger.API,
) -> RunSpec:
    """Everything a run needs before it is queued: the version, the validated input (secrets
    split off) and the versions of the functions it calls.

    Raises :class:`NotFoundError` for an unknown function or version and
    :class:`InputError` (naming each parameter at fault); nothing is queued.
    """
    entry = store.require_version(namespace, name, version)
    data = {} if input is None else input
    check_input_depth(data)  # before anything recursive, json.dumps included
    try:
        size = len(json.dumps(data, allow_nan=False).encode())
    except (TypeError, ValueError) as error:
        raise InputError([InputProblem("input", f"must be JSON: {error}")]) from None
    if size > MAX_INPUT_BYTES:
        raise InputError(
            [InputProblem("input", f"is {size} bytes; the limit is {MAX_INPUT_BYTES} bytes")]
        )
    bind_input(EntrySignature.from_dict(entry.signature), data)
    public, private = split_secrets(data)
    return RunSpec(
        version=entry,
        input=public,
        private_input=private,
        versions=resolve_versions(store, entry),
        trigger=Trigger(trigger),
    )


def start_execution(
    store: Store,
    namespace: str,
    name: str,
    input: Any = None,
    *,
    version: int | None = None,
    trigger: Trigger | str = Trigger.API,
    dispatcher: Dispatcher | None = None,
    audit: AuditEntry | None = None,
) -> ExecutionRecord:
    """Validate ``input`` against the entry point and queue an execution (with ``audit``, if
    given, in the same transaction). Errors as :func:`prepare_execution`."""
    spec = prepare_execution(store, namespace, name, input, version=version, trigger=trigger)
    execution = store.enqueue_spec(spec, audit=audit)
    if dispatcher is not None:
        dispatcher.notify()
    return execution


def wait_for(store: Store, execution_id: str, timeout: float | None = None) -> ExecutionRecord:
    """Poll until the execution has finished (or ``timeout`` passed); return its record."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.002
    while True:
        record = store.get_execution(execution_id)
        if record is None:
            raise NotFoundError("execution", execution_id)
        if record.status.finished or (deadline is not None and time.monotonic() >= deadline):
            return record
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def run_here(
    store: Store,
    execution: ExecutionRecord,
    worker_id: str,
    cancel: threading.Event | None = None,
    *,
    settings: Settings,
) -> ExecutionRecord:
    """Run a queued execution in a fresh worker process started from this process (the CLI
    without a server), in the sandbox a server with ``settings`` would use -- the same
    configuration and the same start-up checks (its database and admin-key files unreadable
    to the run), refusing as the server does without tier 0
    (:class:`~runtree.execution.sandbox.report.SandboxUnavailable`). If someone else claimed
    it first, wait for them instead. Setting ``cancel`` stops the worker; the execution then
    ends ``cancelled``."""
    return run_all_here(store, [execution], worker_id, cancel, settings=settings)[0]


def run_all_here(
    store: Store,
    executions: list[ExecutionRecord],
    worker_id: str,
    cancel: threading.Event | None = None,
    *,
    settings: Settings,
) -> list[ExecutionRecord]:
    """:func:`run_here` for several queued executions, one after the other, with one
    sandbox probe and one launcher for them all (shadow runs, ``runtree deploy --shadow``
    without a server). Returns their records as they ended, in the same order."""
    sandbox = probe_sandbox(settings).require()  # before claiming: nothing is left running
    try:
        launcher = SpawnLauncher(sandbox)
        try:
            runner = ExecutionRunner(store, Supervisor(launcher))
            ended = []
            for execution in executions:
                claimed = store.claim_execution(execution.id, worker_id)
                if claimed is None:
                    ended.append(wait_for(store, execution.id))
                else:
                    ended.append(runner.run(claimed, cancel))
            return ended
        finally:
            launcher.close()
    finally:
        sandbox.close()


def local_worker_id(role: str) -> str:
    """``role:host:pid`` -- lets a restarted server tell live local workers from dead ones."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}"


def recover_after_crash(store: Store) -> list[str]:
    """Mark ``crashed`` the running executions whose worker process on this host is gone
    (a server or CLI killed with SIGKILL). Executions of live processes -- a CLI run in
    another terminal -- and of other hosts are left alone. Returns the ids of those marked."""
    host = socket.gethostname()
    alive: dict[str, bool] = {}  # by worker id
    marked: list[str] = []
    cursor = None
    while True:
        page, cursor = store.list_executions(
            status="running", limit=500, cursor=cursor, include_shadow=True
        )
        for execution in page:
            worker = execution.worker_id or ""
            parts = worker.rsplit(":", 2)
            local = len(parts) == 3 and parts[1] == host and parts[2].isdigit()
            if not local:
                continue
            if worker not in alive:
                alive[worker] = _process_alive(int(parts[2]))
            if not alive[worker]:
                marked.append(execution.id)
        if cursor is None:
            break
    dead = {worker for worker, living in alive.items() if not living}
    if not dead:
        return []
    store.recover(worker_ids=dead)  # every running execution of those workers: ``marked``
    return marked


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own id from a previous life: this process just started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cancel_execution(
    store: Store, execution_id: str, dispatcher: Dispatcher | None = None
) -> ExecutionRecord:
    """Cancel a queued execution at once, or ask its worker to stop a running one."""
    record = store.request_cancel(execution_id)
    if dispatcher is not None and record.status == "running":
        dispatcher.cancel(execution_id)
    return record


def tree_text(store: Store, execution_id: str) -> str:
    """The execution's text tree (the format of docs/design.md)."""
    steps = store.get_steps(execution_id)
    return render_steps(steps)


def render_steps(steps: list[StepRecord]) -> str:
    children: dict[int | None, list[StepRecord]] = {}
    for step in steps:
        children.setdefault(step.parent_id, []).append(step)
    return render_tree(children.get(None, []), children, [])


def failing_path(steps: list[StepRecord]) -> list[StepRecord]:
    """Root to the innermost failed step along failed steps (empty if nothing failed)."""
    by_parent: dict[int | None, list[StepRecord]] = {}
    for step in steps:
        by_parent.setdefault(step.parent_id, []).append(step)
    path: list[StepRecord] = []
    candidates = by_parent.get(None, [])
    while True:
        failed = [s for s in candidates if s.status == "failed"]
        if not failed:
            return path
        step = failed[-1]
        path.append(step)
        candidates = by_parent.get(step.id, [])


def input_from_pairs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs (values parsed as JSON when they are JSON, else kept as text)."""

    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputError([InputProblem(pair, "expected key=value")])
        try:
            data[key] = jsonlimits.loads(raw, key)
        except JsonTooDeep:
            raise InputError([InputProblem(key, TOO_DEEP_PROBLEM)]) from None
        except ValueError:
            data[key] = raw
    return data
