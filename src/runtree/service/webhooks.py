"""Webhooks: ``POST /hooks/{path}`` starts a function with trigger ``webhook``.

A delivery is checked in this order: the path names a webhook (else not found, nothing
recorded), the method is POST (else method not allowed, nothing recorded), the signature is
valid (else the delivery is recorded as *rejected* and nothing runs), the body fits the
function (else rejected too). Then, in one transaction, the execution is queued, the
delivery recorded with its raw body and its headers (secret ones redacted), and its
idempotency key remembered -- unless that key started an execution within the last 24 hours:
then the delivery is recorded as a *duplicate* and the first execution is returned.

What the function receives: a JSON object body maps to its parameters, as for the API; a
function with a parameter named ``request`` receives instead a dict with ``method``,
``path``, ``query`` (name -> value, or a list for repeated names), ``headers`` (lower-case
name -> value, secret ones redacted), ``body`` (the raw body as text, or base64 when it is
not UTF-8) and ``body_encoding`` (``"utf-8"`` or ``"base64"``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

from .. import jsonlimits
from ..errors import (
    DeliveryInputError,
    DeliveryRejected,
    InputError,
    InputProblem,
    InvalidWebhook,
    JsonTooDeep,
    MethodNotAllowed,
)
from ..execution.dispatcher import Dispatcher
from ..execution.inputs import TOO_DEEP_PROBLEM, bind_input
from ..instrument.signature import VAR_KEYWORD, VAR_POSITIONAL, EntrySignature
from ..models import (
    DeliveryRecord,
    ExecutionRecord,
    Permission,
    Trigger,
    VersionRecord,
    WebhookRecord,
)
from ..store import AuditEntry, DeliveryData, NotFoundError, RunSpec, Store
from . import signatures
from .access import Principal, authorize
from .deploy import validate_name
from .executions import resolve_versions, split_secrets

PATH_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MODES = ("sync", "async")
DEFAULT_SYNC_TIMEOUT_S = 10.0
MAX_SYNC_TIMEOUT_S = 300.0
IDEMPOTENCY_WINDOW = datetime.timedelta(hours=24)
MAX_IDEMPOTENCY_KEY = 300
REJECTED_BODY_KEPT = 64 * 1024
REQUEST_PARAMETER = "request"
REDACTED = "[redacted]"
# Schemes whose secret the provider issues (it cannot be generated here).
PROVIDER_SECRETS = ("stripe", "slack")

_SECRET_HEADERS = (
    frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
    | signatures.SIGNATURE_HEADERS
)
_SECRET_WORDS = ("token", "secret", "password", "passwd", "api-key", "apikey", "auth")


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """An accepted delivery: the execution it started (or, for a ``duplicate``, the first
    execution of its idempotency key)."""

    webhook: WebhookRecord
    record: DeliveryRecord
    execution: ExecutionRecord
    duplicate: bool


# --- managing webhooks ----------------------------------------------------------------------


def create_webhook(
    store: Store,
    principal: Principal,
    namespace: str,
    name: str,
    *,
    path: str,
    verify: str = "none",
    secret: str | None = None,
    mode: str = "async",
    version: int | None = None,
    sync_timeout_s: float | None = None,
) -> tuple[WebhookRecord, str | None]:
    """Create a webhook; returns it and the secret generated for it (``github`` and
    ``hmac-sha256`` without a given secret get a random one, shown once), else ``None``.
    Developer role in ``namespace``; audited as ``webhook.create``."""
    validate_name("namespace", namespace)
    validate_name("name", name)
    authorize(principal, Permission.MANAGE_TRIGGERS, namespace)
    if not isinstance(path, str) or not PATH_PATTERN.fullmatch(path):
        raise InvalidWebhook(
            "path",
            "path must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    if verify not in signatures.SCHEMES:
        raise InvalidWebhook("verify", f"verify must be one of {', '.join(signatures.SCHEMES)}")
    if mode not in MODES:
        raise InvalidWebhook("mode", "mode must be sync or async")
    timeout = DEFAULT_SYNC_TIMEOUT_S if sync_timeout_s is None else float(sync_timeout_s)
    if not 0 < timeout <= MAX_SYNC_TIMEOUT_S:
        raise InvalidWebhook(
            "sync_timeout_s", f"sync_timeout_s must be in (0, {MAX_SYNC_TIMEOUT_S:g}] seconds"
        )
    if secret is not None and not secret.strip():
        secret = None
    generated = None
    if verify == "none":
        secret = None
    elif secret is None:
        if verify in PROVIDER_SECRETS:
            raise InvalidWebhook(
                "secret", f"{verify} signs with a secret it issues: give that secret"
            )
        secret = generated = secrets.token_urlsafe(32)
    store.require_version(namespace, name, version)
    record = store.create_webhook(
        path=path,
        namespace=namespace,
        name=name,
        version=version,
        verify=verify,
        secret=secret,
        mode=mode,
        sync_timeout_s=timeout,
        created_by=principal.actor,
        audit=AuditEntry(
            actor=principal.actor,
            action="webhook.create",
            target=f"webhook {path}",
            namespace=namespace,
            details={
                "function": f"{namespace}/{name}",
                "version": version,
                "verify": verify,
                "mode": mode,
            },
        ),
    )
    return record, generated


def list_webhooks(
    store: Store, principal: Principal, namespace: str | None = None
) -> list[WebhookRecord]:
    return store.list_webhooks(principal.scope(namespace))


def get_webhook(store: Store, principal: Principal, path: str) -> WebhookRecord:
    record = store.get_webhook(path)
    if record is None or not principal.allows(Permission.READ, record.namespace):
        raise NotFoundError("webhook", path)
    return record


def delete_webhook(store: Store, principal: Principal, path: str) -> WebhookRecord:
    """Delete (developer role in its namespace); its deliveries stay on record."""
    record = get_webhook(store, principal, path)
    authorize(principal, Permission.MANAGE_TRIGGERS, record.namespace)
    return store.delete_webhook(
        path,
        audit=AuditEntry(
            actor=principal.actor,
            action="webhook.delete",
            target=f"webhook {path}",
            namespace=record.namespace,
            details={"function": record.qualified_name},
        ),
    )


def list_deliveries(
    store: Store,
    principal: Principal,
    *,
    path: str | None = None,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[DeliveryRecord], str | None]:
    """Deliveries, newest first. A namespaced key sees those of its namespace's webhooks."""
    if path is not None:
        webhook = store.get_webhook(path)
        if webhook is not None:
            authorize(principal, Permission.READ, webhook.namespace)
    namespace = principal.scope(None)
    return store.list_deliveries(
        path=path, status=status, namespace=namespace, limit=limit, cursor=cursor
    )


def get_delivery(store: Store, principal: Principal, delivery_id: str) -> DeliveryRecord:
    record = store.get_delivery(delivery_id)
    if record is None or not _may_read_delivery(store, principal, record):
        raise NotFoundError("delivery", delivery_id)
    return record


def delivery_of_execution(store: Store, principal: Principal, execution_id: str) -> DeliveryRecord:
    """The delivery that started an execution (raw body and redacted headers)."""
    execution = store.get_execution(execution_id)
    if execution is None or not principal.allows(Permission.READ, execution.namespace):
        raise NotFoundError("execution", execution_id)
    record = store.delivery_of_execution(execution_id)
    if record is None:
        raise NotFoundError("delivery", f"of execution {execution_id}")
    return record


def _may_read_delivery(store: Store, principal: Principal, record: DeliveryRecord) -> bool:
    if principal.namespace is None:
        return principal.allows(Permission.READ)
    if record.execution_id is not None:
        execution = store.get_execution(record.execution_id)
        return execution is not None and principal.allows(Permission.READ, execution.namespace)
    webhook = store.get_webhook(record.path)
    return (
        webhook is not None
        and webhook.id == record.webhook_id
        and principal.allows(Permission.READ, webhook.namespace)
    )


# --- receiving deliveries -------------------------------------------------------------------


def redact_headers(headers: Sequence[tuple[str, str]]) -> list[list[str]]:
    """``[name, value]`` pairs as received (names lower-case), secret values redacted."""
    return [
        [name.lower(), REDACTED if is_secret_header(name) else value] for name, value in headers
    ]


def is_secret_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or any(word in lowered for word in _SECRET_WORDS)


def receive(
    store: Store,
    path: str,
    *,
    method: str,
    query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    dispatcher: Dispatcher | None = None,
    now: float | None = None,
) -> Delivery:
    """Handle one request to ``/hooks/{path}`` (see the module docstring). Raises
    :class:`NotFoundError` (no such webhook, or its function is gone),
    :class:`MethodNotAllowed`, :class:`DeliveryRejected` or :class:`DeliveryInputError`."""
    webhook = store.get_webhook(path)
    if webhook is None:
        raise NotFoundError("webhook", path)
    if method.upper() != "POST":
        raise MethodNotAllowed(f"webhooks accept POST, not {method.upper()}")
    lowered: dict[str, str] = {}
    for name, value in headers:
        lowered.setdefault(name.lower(), value)
    data = DeliveryData(
        path=path,
        method=method.upper(),
        query_string=query_string,
        headers=redact_headers(headers),
        body=body,
        body_size=len(body),
    )
    moment = time.time() if now is None else now
    reason = signatures.check(webhook.verify, webhook.secret, body, lowered, moment)
    if reason is not None:
        raise DeliveryRejected(
            f"signature check failed: {reason}", _reject(store, webhook, data, reason)
        )
    version = store.get_version(webhook.namespace, webhook.name, webhook.version)
    if version is None:
        reason = f"function {webhook.qualified_name} has no version {webhook.version or ''}"
        _reject(store, webhook, data, reason.strip())
        raise NotFoundError("function", webhook.qualified_name)
    try:
        data_input = build_input(version, data, lowered)
        bind_input(EntrySignature.from_dict(version.signature), data_input)
    except InputError as error:
        raise DeliveryInputError(
            error.problems, _reject(store, webhook, data, f"invalid input: {error}")
        ) from None
    public_input, private_input = split_secrets(data_input)
    spec = RunSpec(
        version=version,
        input=public_input,
        private_input=private_input,
        versions=resolve_versions(store, version),
        trigger=Trigger.WEBHOOK,
    )
    record, execution, duplicate = store.accept_delivery(
        webhook.id, data, idempotency_key(lowered, body), spec, IDEMPOTENCY_WINDOW
    )
    if dispatcher is not None and not duplicate:
        dispatcher.notify()
    return Delivery(webhook=webhook, record=record, execution=execution, duplicate=duplicate)


def _reject(
    store: Store, webhook: WebhookRecord, data: DeliveryData, reason: str
) -> DeliveryRecord:
    kept = data.body[:REJECTED_BODY_KEPT]
    trimmed = dataclasses.replace(data, body=kept, body_truncated=len(kept) < len(data.body))
    return store.reject_delivery(webhook.id, trimmed, reason)


def wants_request(version: VersionRecord) -> bool:
    """Whether the entry point declares a parameter named ``request``."""
    signature = EntrySignature.from_dict(version.signature)
    return any(
        p.name == REQUEST_PARAMETER and p.kind not in (VAR_POSITIONAL, VAR_KEYWORD)
        for p in signature.parameters
    )


def build_input(
    version: VersionRecord, data: DeliveryData, headers: dict[str, str]
) -> dict[str, Any]:
    """The execution's input: ``{"request": ...}`` or the JSON object body's members."""
    if wants_request(version):
        return {REQUEST_PARAMETER: request_document(data)}
    if not data.body.strip():
        return {}
    try:
        parsed = jsonlimits.loads(data.body, "body", parse_constant=_no_constant)
    except JsonTooDeep:
        raise InputError([InputProblem("body", TOO_DEEP_PROBLEM)]) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(
            [
                InputProblem(
                    "body",
                    f"is not JSON ({error}); declare a parameter named "
                    "'request' to receive any body",
                )
            ]
        ) from None
    if not isinstance(parsed, dict):
        raise InputError([InputProblem("body", "must be a JSON object of parameter names")])
    return parsed


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON")


def request_document(data: DeliveryData) -> dict[str, Any]:
    """What a ``request`` parameter receives."""
    query: dict[str, Any] = {}
    for name, value in urllib.parse.parse_qsl(data.query_string, keep_blank_values=True):
        if name in query:
            previous = query[name]
            query[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            query[name] = value
    headers: dict[str, str] = {}
    for name, value in data.headers:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    try:
        body, encoding = data.body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(data.body).decode("ascii"), "base64"
    return {
        "method": data.method,
        "path": f"/hooks/{data.path}",
        "query": query,
        "headers": headers,
        "body": body,
        "body_encoding": encoding,
    }


def idempotency_key(headers: dict[str, str], body: bytes) -> str | None:
    """``Idempotency-Key``, else GitHub's ``X-GitHub-Delivery``, else the id of a Stripe
    event (``{"object": "event", "id": "evt_..."}``) -- ``None`` when there is none."""
    for name in ("idempotency-key", "x-github-delivery"):
        value = headers.get(name, "").strip()
        if value:
            return value[:MAX_IDEMPOTENCY_KEY]
    if b'"evt_' in body:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        if isinstance(parsed, dict) and parsed.get("object") == "event":
            event_id = parsed.get("id")
            if isinstance(event_id, str) and event_id.startswith("evt_"):
                return f"stripe:{event_id}"[:MAX_IDEMPOTENCY_KEY]
    return None
