"""Replaying a webhook delivery: run the request that was received again, as it was received,
against the version that ran it or another one (the 3 AM story: a delivery failed, a fix is
deployed, the same delivery is run against the fix).

A delivery is replayed from what was recorded of it -- its raw body and its headers (secret
ones redacted, exactly as the function saw them the first time) -- so nothing the first run
redacted is needed. Only a delivery that started an execution can be replayed: a rejected one
was never verified, and running its body would skip the check its signature failed.
"""

from __future__ import annotations

from ..execution.dispatcher import Dispatcher
from ..execution.inputs import bind_input
from ..instrument.signature import EntrySignature
from ..models import DeliveryRecord, ExecutionRecord, Permission, Trigger
from ..store import AuditEntry, ConflictError, DeliveryData, NotFoundError, RunSpec, Store
from .access import Principal, authorize
from .executions import resolve_versions, split_secrets
from .webhooks import build_input, get_delivery


def replay_delivery(
    store: Store,
    principal: Principal,
    delivery_id: str,
    *,
    version: int | None = None,
    dispatcher: Dispatcher | None = None,
) -> ExecutionRecord:
    """Start a new execution (trigger ``replay``, ``replay_of`` the delivery's execution) with
    the delivery's request. ``version`` chooses the entry point's version (its calls then use
    the current versions of the functions it calls); ``None`` replays exactly what ran: the
    same version and the same versions of the functions it called.

    Runner role in the function's namespace; audited as ``delivery.replay``. Raises
    :class:`NotFoundError` (no such delivery or version), :class:`ConflictError` (a rejected
    delivery) or :class:`InputError` (the body does not fit the chosen version)."""
    delivery = get_delivery(store, principal, delivery_id)
    if delivery.execution_id is None:
        raise ConflictError(
            "delivery",
            delivery.id,
            "a rejected delivery started nothing and was never verified: it cannot be replayed",
        )
    original = store.get_execution(delivery.execution_id)
    if original is None:
        raise NotFoundError("execution", delivery.execution_id)
    authorize(principal, Permission.RUN, original.namespace)
    chosen = original.version if version is None else version
    target = store.require_version(original.namespace, original.name, chosen)
    data = _recorded_request(delivery)
    headers = {name: value for name, value in reversed(data.headers)}
    data_input = build_input(target, data, headers)
    bind_input(EntrySignature.from_dict(target.signature), data_input)
    public_input, private_input = split_secrets(data_input)
    versions = (
        {**original.versions, original.name: original.version}
        if version is None
        else resolve_versions(store, target)
    )
    spec = RunSpec(
        version=target,
        input=public_input,
        private_input=private_input,
        versions=versions,
        trigger=Trigger.REPLAY,
        replay_of=original.id,
    )
    record = store.enqueue_spec(
        spec,
        audit=AuditEntry(
            actor=principal.actor,
            action="delivery.replay",
            target=f"delivery {delivery.id} -> {target.qualified_name} v{target.number}",
            namespace=original.namespace,
            details={"path": delivery.path, "replay_of": original.id},
        ),
    )
    if dispatcher is not None:
        dispatcher.notify()
    return record


def _recorded_request(delivery: DeliveryRecord) -> DeliveryData:
    return DeliveryData(
        path=delivery.path,
        method=delivery.method,
        query_string=delivery.query_string,
        headers=delivery.headers,
        body=delivery.body,
        body_size=delivery.body_size,
        body_truncated=delivery.body_truncated,
    )
