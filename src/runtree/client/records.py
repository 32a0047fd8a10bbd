"""The server's JSON documents as the records of :mod:`runtree.models`, as the store
returns them.

Ids the API does not expose (``function_id``, ``version_id``, a key's or webhook's ``id``)
are ``0`` (``None`` for a delivery's ``webhook_id``); a webhook's secret is ``None``; times
without a zone are UTC. Optional members the API lists as ``null`` in captured values and
errors are left out, as the store leaves them out.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from ..models import (
    ApiKeyRecord,
    AuditRecord,
    DeliveryRecord,
    ExecutionRecord,
    ExecutionStatus,
    FunctionRecord,
    RetentionKind,
    RetentionPolicyRecord,
    Role,
    ScheduleFireRecord,
    ScheduleRecord,
    StepRecord,
    StepStatus,
    Trigger,
    VersionRecord,
    WebhookRecord,
)


def _time(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    moment = datetime.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _required_time(value: Any) -> datetime.datetime:
    moment = _time(value)
    assert moment is not None
    return moment


def _drop_none(document: Any, keys: tuple[str, ...]) -> Any:
    """``document`` without those of ``keys`` whose value is ``None`` (the API's response
    models list optional members as ``null``; the store leaves them out)."""
    if not isinstance(document, dict):
        return document
    return {k: v for k, v in document.items() if not (k in keys and v is None)}


def _captured(value: Any) -> Any:
    return _drop_none(value, ("sha256", "warning", "type", "length"))


def _error(value: Any) -> Any:
    return _drop_none(value, ("step_id", "from_step"))


def function_record(data: dict[str, Any]) -> FunctionRecord:
    status = data.get("last_status")
    return FunctionRecord(
        id=0,
        namespace=data["namespace"],
        name=data["name"],
        description=data.get("description"),
        created_at=_required_time(data["created_at"]),
        current_version=data.get("current_version"),
        latest_version=data.get("latest_version"),
        run_count=int(data.get("run_count") or 0),
        step_count=int(data.get("step_count") or 0),
        last_execution_id=data.get("last_execution_id"),
        last_status=None if status is None else ExecutionStatus(status),
    )


def version_record(data: dict[str, Any]) -> VersionRecord:
    return VersionRecord(
        id=0,
        function_id=0,
        namespace=data["namespace"],
        name=data["name"],
        number=int(data["number"]),
        sha256=data["sha256"],
        source=data.get("source", ""),
        settings=dict(data["settings"]),
        warnings=list(data["warnings"]),
        dependencies=list(data["dependencies"]),
        signature=data.get("signature"),
        created_at=_required_time(data["created_at"]),
        created_by=data.get("created_by"),
    )


def execution_record(data: dict[str, Any]) -> ExecutionRecord:
    return ExecutionRecord(
        id=data["id"],
        function_id=0,
        version_id=0,
        namespace=data["namespace"],
        name=data["name"],
        version=int(data["version"]),
        trigger=Trigger(data["trigger"]),
        status=ExecutionStatus(data["status"]),
        input=data.get("input"),
        output=data.get("output"),
        error=_error(data.get("error")),
        versions=dict(data.get("versions") or {}),
        queued_at=_required_time(data["queued_at"]),
        started_at=_time(data.get("started_at")),
        finished_at=_time(data.get("finished_at")),
        duration_ms=data.get("duration_ms"),
        cancel_requested=bool(data.get("cancel_requested")),
        worker_id=data.get("worker_id"),
        replay_of=data.get("replay_of"),
        shadow_report_id=data.get("shadow_report_id"),
    )


def step_record(execution_id: str, data: dict[str, Any]) -> StepRecord:
    generator = data.get("generator")
    if isinstance(generator, dict):
        generator = {**generator, "first": _captured(generator.get("first"))}
    output = data.get("output")
    return StepRecord(
        execution_id=execution_id,
        id=int(data["id"]),
        parent_id=data.get("parent_id"),
        sequence=int(data["sequence"]),
        depth=int(data["depth"]),
        name=data["name"],
        filename=data.get("filename"),
        lineno=data.get("lineno"),
        function=data.get("function"),
        version=data.get("version"),
        status=StepStatus(data["status"]),
        started_at_ns=int(data["started_at_ns"]),
        duration_ns=data.get("duration_ns"),
        inputs={k: _captured(v) for k, v in (data.get("inputs") or {}).items()},
        output=None if output is None else _captured(output),
        error=_error(data.get("error")),
        stdout=data.get("stdout", ""),
        stdout_truncated=bool(data.get("stdout_truncated")),
        warnings=list(data.get("warnings") or []),
        aggregates=list(data.get("aggregates") or []),
        generator=generator,
    )


def key_record(data: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=0,
        prefix=data["prefix"],
        name=data.get("name"),
        role=Role(data["role"]),
        namespace=data.get("namespace"),
        created_at=_required_time(data["created_at"]),
        created_by=data.get("created_by"),
        revoked_at=_time(data.get("revoked_at")),
    )


def webhook_record(data: dict[str, Any]) -> WebhookRecord:
    return WebhookRecord(
        id=0,
        path=data["path"],
        namespace=data["namespace"],
        name=data["name"],
        version=data.get("version"),
        verify=data["verify"],
        secret=None,
        mode=data["mode"],
        sync_timeout_s=float(data["sync_timeout_s"]),
        created_at=_required_time(data["created_at"]),
        created_by=data.get("created_by"),
    )


def delivery_record(data: dict[str, Any]) -> DeliveryRecord:
    body = base64.b64decode(data["body_base64"]) if "body_base64" in data else b""
    return DeliveryRecord(
        id=data["id"],
        webhook_id=None,
        path=data["path"],
        received_at=_required_time(data["received_at"]),
        method=data["method"],
        query_string=data.get("query_string", ""),
        headers=[list(pair) for pair in data.get("headers", [])],
        body=body,
        body_size=int(data["body_size"]),
        body_truncated=bool(data.get("body_truncated", False)),
        status=data["status"],
        reason=data.get("reason"),
        idempotency_key=data.get("idempotency_key"),
        execution_id=data.get("execution_id"),
    )


def schedule_record(data: dict[str, Any]) -> ScheduleRecord:
    return ScheduleRecord(
        id=int(data["id"]),
        namespace=data["namespace"],
        name=data["name"],
        version=data.get("version"),
        cron=data["cron"],
        timezone=data["timezone"],
        input=dict(data.get("input") or {}),
        paused=bool(data["paused"]),
        next_fire_at=_required_time(data["next_fire_at"]),
        last_fire_at=_time(data.get("last_fire_at")),
        created_at=_required_time(data["created_at"]),
        created_by=data.get("created_by"),
    )


def policy_record(data: dict[str, Any]) -> RetentionPolicyRecord:
    return RetentionPolicyRecord(
        kind=RetentionKind(data["kind"]),
        namespace=data["namespace"],
        function=data["function"],
        keep_days=data["keep_days"],
        keep_last=data["keep_last"],
        updated_at=_required_time(data["updated_at"]),
        updated_by=data["updated_by"],
    )


def audit_record(data: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=int(data["id"]),
        at=_required_time(data["at"]),
        actor=data["actor"],
        action=data["action"],
        target=data["target"],
        namespace=data["namespace"],
        details=data["details"],
    )


def schedule_fire_record(schedule_id: int, data: dict[str, Any]) -> ScheduleFireRecord:
    return ScheduleFireRecord(
        schedule_id=schedule_id,
        fire_time=_required_time(data["fire_time"]),
        execution_id=data["execution_id"],
        fired_at=_required_time(data["fired_at"]),
        late=data["late"],
        missed=data["missed"],
    )
