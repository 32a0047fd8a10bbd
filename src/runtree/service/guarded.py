"""The manual operations as a principal performs them: authorized, then audited.

The HTTP API and the CLI (locally as :meth:`Principal.local`, an admin) call these instead
of the bare use cases, so the same rules and the same audit entries apply whoever asks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import InputError, InputProblem
from ..execution.dispatcher import Dispatcher
from ..models import ExecutionRecord, Permission, Trigger
from ..store import AuditEntry, NotFoundError, RunSpec, Store
from .access import Principal, audit, authorize
from .deploy import DeployResult, VersionSettings, deploy
from .executions import cancel_execution, contains_redactions, start_execution
from .shadow import Promotion, check_runs, promote, start_shadow


def deploy_function(
    store: Store,
    principal: Principal,
    namespace: str,
    name: str,
    source: str,
    *,
    settings: VersionSettings | None = None,
    description: str | None = None,
    known_functions: frozenset[str] = frozenset(),
    created_by: str | None = None,
    shadow: int | None = None,
    dispatcher: Dispatcher | None = None,
) -> DeployResult:
    """Deploy (developer role in ``namespace``); audited as ``function.deploy``.

    With ``shadow`` (a number of runs) the version is stored but does not become current:
    a shadow report replays the last ``shadow`` replayable inputs of the current version
    against it (:mod:`.shadow`; audited as ``function.shadow``). A function's first
    version has nothing to compare with and becomes current; a deploy identical to the
    current version starts nothing."""
    authorize(principal, Permission.DEPLOY, namespace)
    if shadow is not None:
        check_runs(shadow)
    baseline = store.get_version(namespace, name) if shadow is not None else None
    result = deploy(
        store,
        namespace,
        name,
        source,
        settings=settings,
        description=description,
        created_by=created_by or principal.actor,
        known_functions=known_functions,
        make_current=baseline is None,
    )
    version = result.version
    report = None
    if shadow is not None and baseline is not None and baseline.number != version.number:
        target = f"{version.qualified_name} v{version.number}"
        report, _ = start_shadow(
            store,
            version,
            baseline,
            shadow,
            created_by=principal.actor,
            audit=AuditEntry(
                actor=principal.actor,
                action="function.shadow",
                target=target,
                namespace=namespace,
                details={"against": baseline.number, "runs": shadow},
            ),
        )
        if dispatcher is not None:
            dispatcher.notify()
    details: dict[str, Any] = {
        "created": result.created,
        "sha256": version.sha256,
        "current": result.current,
    }
    if report is not None:
        details["shadow_report"] = report.id
    audit(
        store,
        principal,
        "function.deploy",
        f"{version.qualified_name} v{version.number}",
        namespace=namespace,
        details=details,
    )
    return dataclasses.replace(result, shadow_report=None if report is None else report.id)


def promote_version(
    store: Store,
    principal: Principal,
    namespace: str,
    name: str,
    number: int,
    *,
    require_clean: bool = False,
) -> Promotion:
    """Make a stored version current (developer role in ``namespace``); audited as
    ``function.promote`` when the current version changes. ``require_clean``: refuse
    (:class:`~runtree.errors.ShadowNotClean`, nothing changed) unless the version's latest
    shadow report is clean."""
    authorize(principal, Permission.DEPLOY, namespace)
    result = promote(store, namespace, name, number, require_clean=require_clean)
    if result.changed:
        audit(
            store,
            principal,
            "function.promote",
            f"{namespace}/{name} v{number}",
            namespace=namespace,
            details={"previous": result.previous, "require_clean": require_clean},
        )
    return result


def run_function(
    store: Store,
    principal: Principal,
    namespace: str,
    name: str,
    input: Any = None,
    *,
    version: int | None = None,
    trigger: Trigger = Trigger.API,
    dispatcher: Dispatcher | None = None,
) -> ExecutionRecord:
    """Start a manual run (runner role in ``namespace``); audited as ``execution.start``."""
    authorize(principal, Permission.RUN, namespace)
    # The audit entry is written in the queueing transaction: one write, not two competing
    # for the database with the worker that claims the execution.
    return start_execution(
        store,
        namespace,
        name,
        input,
        version=version,
        trigger=trigger,
        dispatcher=dispatcher,
        audit=AuditEntry(
            actor=principal.actor,
            action="execution.start",
            target=f"{namespace}/{name}" + ("" if version is None else f" v{version}"),
            namespace=namespace,
            details={"trigger": str(trigger)},
        ),
    )


def visible_execution(store: Store, principal: Principal, execution_id: str) -> ExecutionRecord:
    """The execution if ``principal`` may read it; an execution of a namespace the key may
    not see is reported as not found (its existence is not revealed)."""
    record = store.get_execution(execution_id)
    if record is None or not principal.allows(Permission.READ, record.namespace):
        raise NotFoundError("execution", execution_id)
    return record


def cancel(
    store: Store,
    principal: Principal,
    execution_id: str,
    dispatcher: Dispatcher | None = None,
) -> ExecutionRecord:
    """Cancel (runner role in the execution's namespace); audited as ``execution.cancel``."""
    record = visible_execution(store, principal, execution_id)
    authorize(principal, Permission.RUN, record.namespace)
    result = cancel_execution(store, execution_id, dispatcher)
    if not record.finished:
        audit(
            store,
            principal,
            "execution.cancel",
            f"{record.qualified_name} v{record.version} {record.id}",
            namespace=record.namespace,
        )
    return result


def replay(
    store: Store,
    principal: Principal,
    execution_id: str,
    dispatcher: Dispatcher | None = None,
    *,
    deterministic: bool = False,
    version: int | None = None,
) -> ExecutionRecord:
    """Run an execution again: the same version, the same versions of the functions it
    calls, the same input (for a webhook delivery with a ``request`` parameter: the same
    raw body and headers). The new execution has trigger ``replay`` and ``replay_of`` set.
    Runner role in its namespace; audited as ``execution.replay``.

    ``deterministic``: also with the same outside world -- the original's recorded HTTP
    answers, clock reads and randomness, network off (README, "Deterministic replay");
    :class:`InputError` when the original has no recording. ``version``: run that version of
    the function instead (the functions it calls stay at the original's versions);
    :class:`NotFoundError` when it does not exist."""
    original = visible_execution(store, principal, execution_id)
    authorize(principal, Permission.RUN, original.namespace)
    if version is None:
        target = store.get_version_by_id(original.version_id)
        if target is None:
            raise NotFoundError("version", f"{original.qualified_name} v{original.version}")
    else:
        target = store.get_version(original.namespace, original.name, version)
        if target is None:
            raise NotFoundError("version", f"{original.qualified_name} v{version}")
    world_source = _world_source(store, original) if deterministic else None
    if contains_redactions(original.input):
        raise InputError(
            [
                InputProblem(
                    "input",
                    "the original input held secrets, which runtree does not keep: start a new run "
                    "with them instead of replaying",
                )
            ]
        )
    spec = RunSpec(
        version=target,
        input=original.input,
        versions={**original.versions, original.name: target.number},
        trigger=Trigger.REPLAY,
        replay_of=original.id,
        replay_world=world_source,
    )
    how = " deterministic" if deterministic else ""
    on = f" on v{target.number}" if target.number != original.version else ""
    record = store.enqueue_spec(
        spec,
        audit=AuditEntry(
            actor=principal.actor,
            action="execution.replay",
            target=f"{original.qualified_name} v{original.version} {original.id}{how}{on} ->",
            namespace=original.namespace,
        ),
    )
    if dispatcher is not None:
        dispatcher.notify()
    return record


def _world_source(store: Store, original: ExecutionRecord) -> str:
    """The execution whose recording a deterministic replay of ``original`` uses: its own,
    or, for a deterministic replay, the one that replay used."""
    world = store.get_world(original.id)
    if world is not None and world.mode == "replay" and world.replay_source is not None:
        return world.replay_source
    if world is None or world.recording is None:
        raise InputError(
            [
                InputProblem(
                    "deterministic",
                    f"execution {original.id} has no recording of the outside world to replay "
                    "(it ran with recording off, timed out or crashed, or before runtree "
                    "recorded it)",
                )
            ]
        )
    return original.id
