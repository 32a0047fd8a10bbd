"""Access control at the HTTP edge: who is calling, and may they call this endpoint?

Every ``/api/v1`` route depends on :func:`access` (the router is included with it, so a route
added later is covered too). It authenticates ``Authorization: Bearer <key>`` (401 when
missing, unknown or revoked; on a ``--no-auth`` server everyone is an anonymous admin), then
checks the permission :data:`ROUTE_PERMISSIONS` gives the route -- a route missing from the
table needs ``read`` for GET and ``admin`` for anything else (closed by default) -- in the
namespace the request names: the ``{namespace}`` path parameter, or the namespace of the
execution, schedule, webhook or delivery the path names. A resource of a namespace the key
may not see is answered 404, as if it did not exist. Handlers that list or that take the
namespace from the body check it themselves, through :mod:`runtree.service`, which holds the
rules (:func:`runtree.service.access.authorize`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..models import Permission
from ..service.access import (
    Principal,
    authenticate,
    authorize,
    cached_principal,
    parse_authorization,
)
from ..store import NotFoundError, Store

# Route name (the endpoint function's name, also its OpenAPI operationId) -> permission.
ROUTE_PERMISSIONS: dict[str, Permission] = {
    "deploy_function": Permission.DEPLOY,
    "promote_version": Permission.DEPLOY,
    "run_function": Permission.RUN,
    "cancel_execution": Permission.RUN,
    "replay_execution": Permission.RUN,
    "replay_delivery": Permission.RUN,
    "create_webhook": Permission.MANAGE_TRIGGERS,
    "delete_webhook": Permission.MANAGE_TRIGGERS,
    "create_schedule": Permission.MANAGE_TRIGGERS,
    "pause_schedule": Permission.MANAGE_TRIGGERS,
    "resume_schedule": Permission.MANAGE_TRIGGERS,
    "delete_schedule": Permission.MANAGE_TRIGGERS,
    "create_key": Permission.ADMIN,
    "list_keys": Permission.ADMIN,
    "revoke_key": Permission.ADMIN,
    "list_audit": Permission.ADMIN,
    "whoami": Permission.READ,
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def route_permission(request: Request) -> Permission:
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    if name in ROUTE_PERMISSIONS:
        return ROUTE_PERMISSIONS[name]
    return Permission.READ if request.method in SAFE_METHODS else Permission.ADMIN


def _check(store: Store, auth: bool, header: str | None, request: Request) -> Principal:
    principal = authenticate(store, parse_authorization(header)) if auth else Principal.anonymous()
    permission = route_permission(request)
    params = request.path_params
    authorize(principal, permission, params.get("namespace"))
    namespace = _resource_namespace(store, params)
    if namespace is not None:
        kind, key, owner = namespace
        if not principal.allows(Permission.READ, owner):
            raise NotFoundError(kind, key)
        authorize(principal, permission, owner)
    return principal


_RESOURCE_PARAMS = frozenset({"execution_id", "schedule_id", "webhook_path"})


def _resource_namespace(store: Store, params: dict[str, str]) -> tuple[str, str, str] | None:
    """``(kind, key, namespace)`` of the resource a path names, when it exists."""
    if "execution_id" in params:
        execution = store.get_execution(params["execution_id"])
        if execution is None:
            return None
        return "execution", params["execution_id"], execution.namespace
    if "schedule_id" in params:
        try:
            schedule = store.get_schedule(int(params["schedule_id"]))
        except (ValueError, OverflowError):
            return None
        return None if schedule is None else ("schedule", params["schedule_id"], schedule.namespace)
    if "webhook_path" in params:
        webhook = store.get_webhook(params["webhook_path"])
        return None if webhook is None else ("webhook", params["webhook_path"], webhook.namespace)
    return None


async def access(request: Request) -> Principal:
    """FastAPI dependency of every ``/api/v1`` route: the caller, checked for this route."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    runtime = request.app.state.runtime
    params = request.path_params
    if not _RESOURCE_PARAMS.intersection(params):
        # A route naming no stored resource, and a key verified a moment ago (or a
        # ``--no-auth`` server): no I/O, so no hop to the thread pool (about a millisecond
        # per request under load).
        if runtime.settings.auth:
            known = cached_principal(
                runtime.store, parse_authorization(request.headers.get("authorization"))
            )
        else:
            known = Principal.anonymous()
        if known is not None:
            authorize(known, route_permission(request), params.get("namespace"))
            request.state.principal = known
            return known
    principal = await run_in_threadpool(
        _check,
        runtime.store,
        runtime.settings.auth,
        request.headers.get("authorization"),
        request,
    )
    request.state.principal = principal
    return principal


Caller = Annotated[Principal, Depends(access)]
