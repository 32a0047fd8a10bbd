"""Endpoints for API keys, the audit log, webhooks, deliveries, schedules and replays (all
under ``/api/v1``; access is checked by :func:`runtree.api.auth.access` and the service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from .. import service
from ..models import DeliveryRecord
from ..service import redelivery as replay_service
from ..service import schedules as schedule_service
from ..service import webhooks as webhook_service
from ..service.access import create_key as create_api_key
from ..service.access import list_audit as list_audit_entries
from ..service.access import list_keys as list_api_keys
from ..service.access import revoke_key as revoke_api_key
from ..service.server import Server
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, EXECUTION_ID_PATTERN, RuntimeDep, execution_location
from .schemas import (
    AuditPage,
    DeliveryDetail,
    DeliveryPage,
    DeliveryReplayRequest,
    ExecutionAccepted,
    KeyCreated,
    KeyList,
    KeyOut,
    KeyRequest,
    ReplayRequest,
    ScheduleDetail,
    ScheduleList,
    ScheduleOut,
    ScheduleRequest,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookRequest,
    WhoAmI,
    WorldOut,
    audit_out,
    delivery_detail,
    delivery_out,
    key_created,
    key_out,
    schedule_detail,
    schedule_out,
    webhook_created,
    webhook_out,
    whoami_out,
)

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))

KeyPrefix = Annotated[str, Path(max_length=200, description="The key's prefix (rtk_...).")]
WebhookPath = Annotated[str, Path(max_length=200, description="The webhook's path.")]
ScheduleId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Schedule id.")]
DeliveryId = Annotated[str, Path(max_length=64, description="Delivery id (32 hex characters).")]
ExecutionId = Annotated[str, Path(description="Execution id (32 hex characters).")]
NamespaceFilter = Annotated[str | None, Query(max_length=100, description="Only this namespace.")]


def split_function(text: str) -> tuple[str, str]:
    """``ns/name`` -> ``(ns, name)``; ``name`` -> ``("default", name)``."""
    namespace, _, name = text.rpartition("/")
    return namespace or "default", name


# --- who am I, keys, audit ------------------------------------------------------------------


@router.get("/whoami", tags=["access"], response_model=WhoAmI)
def whoami(caller: Caller) -> WhoAmI:
    """The caller's role, namespace and the name the audit log records for it."""
    return whoami_out(caller)


@router.post("/keys", tags=["access"], response_model=KeyCreated, status_code=201)
def create_key(body: KeyRequest, caller: Caller, rt: RuntimeDep) -> KeyCreated:
    """Create an API key (admin). The key is in this response only: it is stored hashed."""
    key, record = create_api_key(
        rt.store, caller, role=body.role, namespace=body.namespace, name=body.name
    )
    return key_created(key, record)


@router.get("/keys", tags=["access"], response_model=KeyList)
def list_keys(
    caller: Caller,
    rt: RuntimeDep,
    include_revoked: Annotated[bool, Query(description="List revoked keys too.")] = False,
) -> KeyList:
    """API keys (admin), oldest first, without the keys themselves."""
    records = list_api_keys(rt.store, caller, include_revoked=include_revoked)
    return KeyList(keys=[key_out(r) for r in records])


@router.delete(
    "/keys/{prefix}", tags=["access"], response_model=KeyOut, responses=problem_responses(404)
)
def revoke_key(prefix: KeyPrefix, caller: Caller, rt: RuntimeDep) -> KeyOut:
    """Revoke a key (admin): it stops working at once. Revoking twice changes nothing."""
    return key_out(revoke_api_key(rt.store, caller, prefix))


@router.get("/audit", tags=["access"], response_model=AuditPage)
def list_audit(
    caller: Caller,
    rt: RuntimeDep,
    namespace: NamespaceFilter = None,
    action: Annotated[
        str | None, Query(max_length=50, description="Only this action (key.create ...).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST_LIMIT)] = 50,
    cursor: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="next_cursor of the previous page.")
    ] = None,
) -> AuditPage:
    """The audit log (admin), newest first: deploys, manual runs, cancels and replays, key,
    webhook and schedule changes -- who, what, when."""
    entries, next_cursor = list_audit_entries(
        rt.store, caller, namespace=namespace, action=action, limit=limit, cursor=cursor
    )
    return AuditPage(entries=[audit_out(e) for e in entries], next_cursor=next_cursor)


# --- webhooks -------------------------------------------------------------------------------


@router.post(
    "/webhooks",
    tags=["webhooks"],
    response_model=WebhookCreated,
    status_code=201,
    responses=problem_responses(404, 409),
)
def create_webhook(body: WebhookRequest, caller: Caller, rt: RuntimeDep) -> WebhookCreated:
    """Create a webhook (developer in the function's namespace)."""
    namespace, name = split_function(body.function)
    record, generated = webhook_service.create_webhook(
        rt.store,
        caller,
        namespace,
        name,
        path=body.path,
        verify=body.verify,
        secret=body.secret,
        mode=body.mode,
        version=body.version,
        sync_timeout_s=body.sync_timeout_s,
    )
    return webhook_created(record, generated)


@router.get("/webhooks", tags=["webhooks"], response_model=WebhookList)
def list_webhooks(caller: Caller, rt: RuntimeDep, namespace: NamespaceFilter = None) -> WebhookList:
    """Webhooks, by path (a namespaced key sees its namespace's)."""
    records = webhook_service.list_webhooks(rt.store, caller, namespace)
    return WebhookList(webhooks=[webhook_out(r) for r in records])


@router.get(
    "/webhooks/{webhook_path}",
    tags=["webhooks"],
    response_model=WebhookOut,
    responses=problem_responses(404),
)
def get_webhook(webhook_path: WebhookPath, caller: Caller, rt: RuntimeDep) -> WebhookOut:
    return webhook_out(webhook_service.get_webhook(rt.store, caller, webhook_path))


@router.delete(
    "/webhooks/{webhook_path}",
    tags=["webhooks"],
    response_model=WebhookOut,
    responses=problem_responses(404),
)
def delete_webhook(webhook_path: WebhookPath, caller: Caller, rt: RuntimeDep) -> WebhookOut:
    """Delete a webhook (developer); its recorded deliveries are kept."""
    return webhook_out(webhook_service.delete_webhook(rt.store, caller, webhook_path))


@router.get("/webhooks/{webhook_path}/deliveries", tags=["webhooks"], response_model=DeliveryPage)
def list_deliveries(
    webhook_path: WebhookPath,
    caller: Caller,
    rt: RuntimeDep,
    status: Annotated[
        str | None, Query(pattern="^(accepted|duplicate|rejected)$", description="Only these.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(pattern=EXECUTION_ID_PATTERN)] = None,
) -> DeliveryPage:
    """Requests received on this path, newest first (rejected ones too)."""
    page, next_cursor = webhook_service.list_deliveries(
        rt.store,
        caller,
        path=webhook_path,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    started = rt.store.get_executions([d.execution_id for d in page if d.execution_id])
    return DeliveryPage(
        deliveries=[delivery_out(d, started) for d in page], next_cursor=next_cursor
    )


@router.get(
    "/deliveries/{delivery_id}",
    tags=["webhooks"],
    response_model=DeliveryDetail,
    responses=problem_responses(404),
)
def get_delivery(delivery_id: DeliveryId, caller: Caller, rt: RuntimeDep) -> DeliveryDetail:
    """One delivery with its headers (secrets redacted), its raw body, the execution it
    started and that execution's replays."""
    return _delivery_detail(rt, webhook_service.get_delivery(rt.store, caller, delivery_id))


def _delivery_detail(rt: Server, record: DeliveryRecord) -> DeliveryDetail:
    execution = None if record.execution_id is None else rt.store.get_execution(record.execution_id)
    replays = [] if execution is None else rt.store.list_replays(execution)
    return delivery_detail(record, execution, replays)


@router.post(
    "/deliveries/{delivery_id}/replay",
    tags=["webhooks"],
    status_code=202,
    response_model=ExecutionAccepted,
    responses=problem_responses(404, 409),
)
def replay_delivery(
    delivery_id: DeliveryId,
    caller: Caller,
    rt: RuntimeDep,
    request: Request,
    body: DeliveryReplayRequest | None = None,
) -> JSONResponse:
    """Run a delivery's request again (trigger ``replay``), as it was received: against the
    version that ran it, or ``version`` (for example the fix deployed since). Runner role; a
    rejected delivery cannot be replayed (409)."""
    record = replay_service.replay_delivery(
        rt.store,
        caller,
        delivery_id,
        version=None if body is None else body.version,
        dispatcher=rt.dispatcher,
    )
    request.state.execution_id = record.id  # for the access log
    return JSONResponse(
        ExecutionAccepted(id=record.id, status=record.status).model_dump(mode="json"),
        status_code=202,
        headers={"Location": execution_location(record.id)},
    )


@router.get(
    "/executions/{execution_id}/delivery",
    tags=["webhooks"],
    response_model=DeliveryDetail,
    responses=problem_responses(404),
)
def get_execution_delivery(
    execution_id: ExecutionId, caller: Caller, rt: RuntimeDep
) -> DeliveryDetail:
    """The webhook delivery that started this execution."""
    return _delivery_detail(
        rt, webhook_service.delivery_of_execution(rt.store, caller, execution_id)
    )


@router.post(
    "/executions/{execution_id}/replay",
    tags=["executions"],
    status_code=202,
    response_model=ExecutionAccepted,
    responses=problem_responses(404),
)
def replay_execution(
    execution_id: ExecutionId,
    caller: Caller,
    rt: RuntimeDep,
    body: ReplayRequest | None = None,
) -> JSONResponse:
    """Run an execution again with the same version(s) and input (trigger ``replay``);
    ``deterministic`` also with what it got from the outside world (its recorded HTTP
    answers, clock and randomness; 422 when it has none), ``version`` on another version of
    the function (404 when there is none)."""
    body = body or ReplayRequest()
    record = service.replay(
        rt.store,
        caller,
        execution_id,
        rt.dispatcher,
        deterministic=body.deterministic,
        version=body.version,
    )
    return JSONResponse(
        ExecutionAccepted(id=record.id, status=record.status).model_dump(mode="json"),
        status_code=202,
        headers={"Location": execution_location(record.id)},
    )


@router.get(
    "/executions/{execution_id}/world",
    tags=["executions"],
    response_model=WorldOut,
    responses=problem_responses(404),
)
def execution_world(execution_id: ExecutionId, caller: Caller, rt: RuntimeDep) -> WorldOut:
    """What the execution got from the outside world: its recorded HTTP interactions
    (method, redacted URL, status, duration), clock reads and random bytes, and the size of
    the recording; for a deterministic replay, the report of how it used its source's
    recording and its first divergence. ``mode`` is ``null`` when nothing was recorded."""
    return WorldOut.model_validate(service.world_document(rt.store, caller, execution_id))


# --- schedules ------------------------------------------------------------------------------


@router.post(
    "/schedules",
    tags=["schedules"],
    response_model=ScheduleOut,
    status_code=201,
    responses=problem_responses(404),
)
def create_schedule(body: ScheduleRequest, caller: Caller, rt: RuntimeDep) -> ScheduleOut:
    """Create a schedule (developer in the function's namespace)."""
    namespace, name = split_function(body.function)
    record = schedule_service.create_schedule(
        rt.store,
        caller,
        namespace,
        name,
        cron=body.cron,
        timezone=body.timezone,
        input=body.input,
        version=body.version,
    )
    return schedule_out(record)


@router.get("/schedules", tags=["schedules"], response_model=ScheduleList)
def list_schedules(
    caller: Caller, rt: RuntimeDep, namespace: NamespaceFilter = None
) -> ScheduleList:
    records = schedule_service.list_schedules(rt.store, caller, namespace)
    return ScheduleList(schedules=[schedule_out(r) for r in records])


@router.get(
    "/schedules/{schedule_id}",
    tags=["schedules"],
    response_model=ScheduleDetail,
    responses=problem_responses(404),
)
def get_schedule(
    schedule_id: ScheduleId,
    caller: Caller,
    rt: RuntimeDep,
    fires: Annotated[
        int,
        Query(
            ge=1, le=service.MAX_LIST_LIMIT, description="How many recent fire times to include."
        ),
    ] = 20,
) -> ScheduleDetail:
    """A schedule with its most recent fire times (late ones marked)."""
    record = schedule_service.get_schedule(rt.store, caller, schedule_id)
    recent = schedule_service.list_fires(rt.store, caller, schedule_id, fires)
    started = rt.store.get_executions([f.execution_id for f in recent if f.execution_id])
    return schedule_detail(record, recent, started)


@router.post(
    "/schedules/{schedule_id}/pause",
    tags=["schedules"],
    response_model=ScheduleOut,
    responses=problem_responses(404),
)
def pause_schedule(schedule_id: ScheduleId, caller: Caller, rt: RuntimeDep) -> ScheduleOut:
    return schedule_out(schedule_service.set_paused(rt.store, caller, schedule_id, True))


@router.post(
    "/schedules/{schedule_id}/resume",
    tags=["schedules"],
    response_model=ScheduleOut,
    responses=problem_responses(404),
)
def resume_schedule(schedule_id: ScheduleId, caller: Caller, rt: RuntimeDep) -> ScheduleOut:
    """Resume: fire times that passed while paused are skipped."""
    return schedule_out(schedule_service.set_paused(rt.store, caller, schedule_id, False))


@router.delete(
    "/schedules/{schedule_id}",
    tags=["schedules"],
    response_model=ScheduleOut,
    responses=problem_responses(404),
)
def delete_schedule(schedule_id: ScheduleId, caller: Caller, rt: RuntimeDep) -> ScheduleOut:
    return schedule_out(schedule_service.delete_schedule(rt.store, caller, schedule_id))
