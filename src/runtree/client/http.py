"""``RemoteClient``: the operations the CLI needs, over HTTP.

It returns the records of :mod:`runtree.models` (ids the API does not expose, such as
``function_id``, are ``0``) and raises the errors the local code paths raise for the same
problems -- :class:`~runtree.store.NotFoundError`, :class:`~runtree.service.InputError`,
:class:`~runtree.service.Unauthenticated`, :class:`~runtree.service.Forbidden` ... -- built
from the server's problem documents, so the CLI prints the same thing either way.
"""

from __future__ import annotations

import base64
import datetime
import threading
import time
from typing import Any

import httpx

from ..errors import (
    ConflictError,
    Forbidden,
    InputError,
    InputProblem,
    InstrumentError,
    NotFoundError,
    RemoteError,
    RuntreeError,
    ServerUnreachable,
    Unauthenticated,
    UntestableStep,
)
from ..models import (
    ApiKeyRecord,
    AuditRecord,
    DeliveryRecord,
    DeployResult,
    ExecutionRecord,
    ExecutionStatus,
    FunctionRecord,
    GeneratedTest,
    Permission,
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
from ..settings import VersionSettings

API = "/api/v1"
TIMEOUT_S = 60.0
POLL_FIRST_S = 0.05
POLL_MAX_S = 0.5
CANCEL_GRACE_S = 10.0


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


class RemoteClient:
    """One server at ``url`` (``http://host:port``), authenticated with ``api_key``."""

    remote = True

    def __init__(self, url: str, api_key: str | None, *, timeout: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @property
    def description(self) -> str:
        return f"server {self.url}"

    def close(self) -> None:
        self._http.close()

    # --- transport ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, API + path, **kwargs)
        except httpx.HTTPError as error:
            raise ServerUnreachable(
                f"cannot reach the runtree server at {self.url}: {error}"
            ) from None
        if response.status_code >= 400:
            raise self._problem(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ServerUnreachable(
                f"{self.url} did not answer with JSON: is it a runtree server?"
            ) from None

    def _problem(self, response: httpx.Response) -> RuntreeError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = str(body.get("detail") or response.reason_phrase or "error")
        slug = str(body.get("type", "")).rsplit("/", 1)[-1]
        status = response.status_code
        if status == 401:
            return Unauthenticated(detail)
        if status == 403:
            return Forbidden(detail, permission=Permission.READ, namespace=None)
        if status == 404 and body.get("kind"):
            return NotFoundError(str(body["kind"]), str(body.get("key", "")))
        if status == 409:
            return ConflictError(str(body.get("kind", "")), str(body.get("key", "")), detail)
        if slug == "untestable-step":
            return UntestableStep(str(body.get("step", "")), detail)

        if slug == "invalid-input" and isinstance(body.get("errors"), list):
            return InputError(
                [
                    InputProblem(str(e.get("parameter", "")), str(e.get("message", "")))
                    for e in body["errors"]
                    if isinstance(e, dict)
                ]
            )
        if slug == "invalid-code" and body.get("line"):
            message = detail.split(": ", 1)[-1]
            return InstrumentError(message, int(body["line"]), int(body.get("column") or 1))
        if status == 404:
            return RemoteError(status, f"not found on the server: {detail}")
        return RemoteError(status, detail)

    # --- functions and versions -----------------------------------------------------------

    def deploy(
        self,
        namespace: str,
        name: str,
        source: str,
        *,
        settings: VersionSettings,
        description: str | None = None,
        created_by: str | None = None,
        known_functions: frozenset[str] = frozenset(),
        shadow: int | None = None,
    ) -> DeployResult:
        body: dict[str, Any] = {
            "code": source,
            **settings.model_dump(),
            "known_functions": sorted(known_functions),
        }
        if description is not None:
            body["description"] = description
        params = {} if shadow is None else {"shadow": shadow}
        data = self._json("PUT", f"/functions/{namespace}/{name}", json=body, params=params)
        return DeployResult(
            version=self._version(data),
            created=bool(data["created"]),
            current=bool(data.get("current", True)),
            shadow_report=data.get("shadow_report"),
        )

    def shadow_report(self, namespace: str, name: str, report_id: str) -> dict[str, Any]:
        document: dict[str, Any] = self._json(
            "GET", f"/functions/{namespace}/{name}/shadow-reports/{report_id}"
        )
        return document

    def shadow_reports(
        self, namespace: str, name: str, version: int | None, limit: int
    ) -> list[dict[str, Any]]:
        params: dict[str, int] = {"limit": limit}
        if version is not None:
            params["version"] = version
        data = self._json("GET", f"/functions/{namespace}/{name}/shadow-reports", params=params)
        return list(data["reports"])

    def finish_shadow(self, namespace: str, name: str, report_id: str) -> dict[str, Any]:
        """Wait until the server has run every run of the report; then the report."""
        delay = POLL_FIRST_S
        while True:
            document = self.shadow_report(namespace, name, report_id)
            if document.get("status") == "finished":
                return document
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX_S)

    def promote(
        self, namespace: str, name: str, number: int, require_clean: bool
    ) -> dict[str, Any]:
        document: dict[str, Any] = self._json(
            "POST",
            f"/functions/{namespace}/{name}/versions/{number}/promote",
            json={"require_clean": require_clean},
        )
        return document

    def get_function(self, namespace: str, name: str) -> FunctionRecord | None:
        try:
            data = self._json("GET", f"/functions/{namespace}/{name}")
        except NotFoundError:
            return None
        return self._function(data)

    def list_functions(self, namespace: str | None = None) -> list[FunctionRecord]:
        params = {} if namespace is None else {"namespace": namespace}
        data = self._json("GET", "/functions", params=params)
        return [self._function(f) for f in data["functions"]]

    def list_versions(self, namespace: str, name: str) -> list[VersionRecord]:
        """Versions, oldest first, *without* sources (``source`` is ``""``)."""
        try:
            data = self._json("GET", f"/functions/{namespace}/{name}/versions")
        except NotFoundError:
            return []
        return [self._version(v) for v in data["versions"]]

    def get_version(
        self, namespace: str, name: str, number: int | None = None
    ) -> VersionRecord | None:
        try:
            if number is None:
                data = self._json("GET", f"/functions/{namespace}/{name}")
                version = data.get("version")
                return None if version is None else self._version(version)
            return self._version(
                self._json("GET", f"/functions/{namespace}/{name}/versions/{number}")
            )
        except NotFoundError:
            return None

    # --- executions -----------------------------------------------------------------------

    def start(self, namespace: str, name: str, data: Any, version: int | None) -> ExecutionRecord:
        body: dict[str, Any] = {"input": {} if data is None else data, "wait": False}
        if version is not None:
            body["version"] = version
        accepted = self._json("POST", f"/functions/{namespace}/{name}/executions", json=body)
        record = self.get_execution(str(accepted["id"]))
        if record is None:
            raise NotFoundError("execution", str(accepted["id"]))
        return record

    def finish(
        self, execution: ExecutionRecord, cancel: threading.Event | None = None
    ) -> ExecutionRecord:
        """Wait until the server has run ``execution``; setting ``cancel`` cancels it."""
        delay = POLL_FIRST_S
        cancelled_at: float | None = None
        while True:
            record = self.get_execution(execution.id)
            if record is None:
                raise NotFoundError("execution", execution.id)
            if record.finished:
                return record
            if cancel is not None and cancel.is_set() and cancelled_at is None:
                self.cancel(execution.id)
                cancelled_at = time.monotonic()
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                return record
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX_S)

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        try:
            data = self._json("GET", f"/executions/{execution_id}")
        except NotFoundError:
            return None
        return self._execution(data)

    def get_execution_with_steps(
        self, execution_id: str
    ) -> tuple[ExecutionRecord, list[StepRecord]]:
        data = self._json("GET", f"/executions/{execution_id}")
        return self._execution(data), [self._step(execution_id, s) for s in data["steps"]]

    def get_steps(self, execution_id: str) -> list[StepRecord]:
        return self.get_execution_with_steps(execution_id)[1]

    def list_executions(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_shadow: bool = False,
    ) -> tuple[list[ExecutionRecord], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if include_shadow:
            params["include_shadow"] = "true"
        if name is not None:
            params["function"] = f"{namespace or 'default'}/{name}"
        if status is not None:
            params["status"] = status
        if cursor is not None:
            params["cursor"] = cursor
        data = self._json("GET", "/executions", params=params)
        page = [self._execution(e) for e in data["executions"]]
        if namespace is not None and name is None:
            page = [e for e in page if e.namespace == namespace]
        return page, data.get("next_cursor")

    def tree_text(self, execution_id: str) -> str:
        return self._request("GET", f"/executions/{execution_id}/tree").text

    def test_from(
        self,
        execution_id: str,
        step: str | None,
        *,
        live: bool,
        xfail: bool,
        source_dir: str | None,
    ) -> GeneratedTest:
        """``GET /executions/{id}/test``: the pytest file made from one of its steps."""
        params: dict[str, Any] = {"live": live, "xfail": xfail}
        if step is not None:
            params["step"] = step
        if source_dir is not None:
            params["source_dir"] = source_dir
        response = self._request("GET", f"/executions/{execution_id}/test", params=params)
        disposition = response.headers.get("content-disposition", "")
        filename = disposition.partition('filename="')[2].rstrip('"') or "test_runtree.py"
        reason = response.headers.get("runtree-xfail-reason")
        return GeneratedTest(
            filename=filename,
            text=response.text,
            execution_id=execution_id,
            step_id=int(response.headers.get("runtree-step-id", "0")),
            stubbed_calls=int(response.headers.get("runtree-stubbed-calls", "0")),
            xfail_reason=reason,
        )

    def cancel(self, execution_id: str) -> ExecutionRecord:
        return self._execution(self._json("POST", f"/executions/{execution_id}/cancel"))

    def replay(
        self, execution_id: str, *, deterministic: bool = False, version: int | None = None
    ) -> ExecutionRecord:
        body: dict[str, Any] = {"deterministic": deterministic}
        if version is not None:
            body["version"] = version
        accepted = self._json("POST", f"/executions/{execution_id}/replay", json=body)
        record = self.get_execution(str(accepted["id"]))
        if record is None:
            raise NotFoundError("execution", str(accepted["id"]))
        return record

    def replay_delivery(self, delivery_id: str, *, version: int | None = None) -> ExecutionRecord:
        body: dict[str, Any] = {} if version is None else {"version": version}
        accepted = self._json("POST", f"/deliveries/{delivery_id}/replay", json=body)
        record = self.get_execution(str(accepted["id"]))
        if record is None:
            raise NotFoundError("execution", str(accepted["id"]))
        return record

    def world(self, execution_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", f"/executions/{execution_id}/world")
        return data

    # --- keys and audit -------------------------------------------------------------------

    def find_value(
        self,
        value: str,
        *,
        key: str | None,
        namespace: str | None,
        name: str | None,
        limit: int,
        cursor: str | None,
        include_shadow: bool = False,
    ) -> tuple[list[tuple[ExecutionRecord, list[dict[str, Any]]]], str | None]:
        """``GET /find``: the executions that handled ``value`` and the steps that did."""
        params: dict[str, str | int] = {"value": value, "limit": limit}
        if include_shadow:
            params["include_shadow"] = "true"
        if key is not None:
            params["key"] = key
        if name is not None:
            params["function"] = f"{namespace or 'default'}/{name}"
        if cursor is not None:
            params["cursor"] = cursor
        data = self._json("GET", "/find", params=params)
        page = [(self._execution(r["execution"]), list(r["steps"])) for r in data["results"]]
        return page, data.get("next_cursor")

    def blame(
        self,
        namespace: str,
        name: str,
        *,
        from_version: int | None,
        to_version: int | None,
        runs: int,
    ) -> dict[str, Any]:
        """``GET /functions/{ns}/{name}/blame``: the document ``runtree blame --json``
        prints."""
        params: dict[str, int] = {"runs": runs}
        if from_version is not None:
            params["from"] = from_version
        if to_version is not None:
            params["to"] = to_version
        document: dict[str, Any] = self._json(
            "GET", f"/functions/{namespace}/{name}/blame", params=params
        )
        return document

    def whoami(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", "/whoami")
        return data

    def create_key(
        self, role: str, namespace: str | None, name: str | None
    ) -> tuple[str, ApiKeyRecord]:
        data = self._json(
            "POST", "/keys", json={"role": role, "namespace": namespace, "name": name}
        )
        return str(data["key"]), self._key(data)

    def list_keys(self, include_revoked: bool = False) -> list[ApiKeyRecord]:
        data = self._json("GET", "/keys", params={"include_revoked": include_revoked})
        return [self._key(k) for k in data["keys"]]

    def revoke_key(self, prefix: str) -> ApiKeyRecord:
        return self._key(self._json("DELETE", f"/keys/{prefix}"))

    # --- retention ------------------------------------------------------------------------

    def list_retention(self) -> list[RetentionPolicyRecord]:
        data = self._json("GET", "/retention")
        return [self._policy(p) for p in data["policies"]]

    def set_retention(
        self, kind: str, target: str | None, keep_days: int | None, keep_last: int | None
    ) -> RetentionPolicyRecord:
        body = {"kind": kind, "target": target, "keep_days": keep_days, "keep_last": keep_last}
        return self._policy(self._json("PUT", "/retention", json=body))

    def remove_retention(self, kind: str, target: str | None) -> RetentionPolicyRecord:
        params = {"kind": kind} | ({} if target is None else {"target": target})
        return self._policy(self._json("DELETE", "/retention", params=params))

    def prune(self, dry_run: bool) -> dict[str, Any]:
        """``POST /retention/prune``: it answers when the pass is done (no time limit)."""
        document: dict[str, Any] = self._json(
            "POST", "/retention/prune", json={"dry_run": dry_run}, timeout=None
        )
        return document

    def storage(self) -> dict[str, Any]:
        document: dict[str, Any] = self._json("GET", "/storage", timeout=None)
        return document

    @staticmethod
    def _policy(data: dict[str, Any]) -> RetentionPolicyRecord:
        return RetentionPolicyRecord(
            kind=RetentionKind(data["kind"]),
            namespace=data["namespace"],
            function=data["function"],
            keep_days=data["keep_days"],
            keep_last=data["keep_last"],
            updated_at=_required_time(data["updated_at"]),
            updated_by=data["updated_by"],
        )

    def list_audit(
        self,
        *,
        namespace: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[list[AuditRecord], int | None]:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("namespace", namespace), ("action", action), ("cursor", cursor)):
            if value is not None:
                params[key] = value
        data = self._json("GET", "/audit", params=params)
        entries = [
            AuditRecord(
                id=int(e["id"]),
                at=_required_time(e["at"]),
                actor=e["actor"],
                action=e["action"],
                target=e["target"],
                namespace=e["namespace"],
                details=e["details"],
            )
            for e in data["entries"]
        ]
        return entries, data.get("next_cursor")

    # --- webhooks -------------------------------------------------------------------------

    def create_webhook(
        self,
        namespace: str,
        name: str,
        *,
        path: str,
        verify: str,
        secret: str | None,
        mode: str,
        version: int | None,
        sync_timeout_s: float | None,
    ) -> tuple[WebhookRecord, str | None]:
        body = {
            "function": f"{namespace}/{name}",
            "path": path,
            "verify": verify,
            "secret": secret,
            "mode": mode,
            "version": version,
            "sync_timeout_s": sync_timeout_s,
        }
        data = self._json("POST", "/webhooks", json=body)
        return self._webhook(data), data.get("secret")

    def list_webhooks(self, namespace: str | None = None) -> list[WebhookRecord]:
        params = {} if namespace is None else {"namespace": namespace}
        return [self._webhook(w) for w in self._json("GET", "/webhooks", params=params)["webhooks"]]

    def delete_webhook(self, path: str) -> WebhookRecord:
        return self._webhook(self._json("DELETE", f"/webhooks/{path}"))

    def list_deliveries(
        self, path: str, *, status: str | None = None, limit: int = 50
    ) -> list[DeliveryRecord]:
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        data = self._json("GET", f"/webhooks/{path}/deliveries", params=params)
        return [self._delivery(d) for d in data["deliveries"]]

    def get_delivery(self, delivery_id: str) -> DeliveryRecord:
        return self._delivery(self._json("GET", f"/deliveries/{delivery_id}"))

    # --- schedules ------------------------------------------------------------------------

    def create_schedule(
        self,
        namespace: str,
        name: str,
        *,
        cron: str,
        timezone: str,
        input: dict[str, Any],
        version: int | None,
    ) -> ScheduleRecord:
        body = {
            "function": f"{namespace}/{name}",
            "cron": cron,
            "timezone": timezone,
            "input": input,
            "version": version,
        }
        return self._schedule(self._json("POST", "/schedules", json=body))

    def list_schedules(self, namespace: str | None = None) -> list[ScheduleRecord]:
        params = {} if namespace is None else {"namespace": namespace}
        return [
            self._schedule(s) for s in self._json("GET", "/schedules", params=params)["schedules"]
        ]

    def get_schedule(self, schedule_id: int) -> tuple[ScheduleRecord, list[ScheduleFireRecord]]:
        data = self._json("GET", f"/schedules/{schedule_id}")
        fires = [
            ScheduleFireRecord(
                schedule_id=schedule_id,
                fire_time=_required_time(f["fire_time"]),
                execution_id=f["execution_id"],
                fired_at=_required_time(f["fired_at"]),
                late=f["late"],
                missed=f["missed"],
            )
            for f in data["fires"]
        ]
        return self._schedule(data), fires

    def set_schedule_paused(self, schedule_id: int, paused: bool) -> ScheduleRecord:
        action = "pause" if paused else "resume"
        return self._schedule(self._json("POST", f"/schedules/{schedule_id}/{action}"))

    def delete_schedule(self, schedule_id: int) -> ScheduleRecord:
        return self._schedule(self._json("DELETE", f"/schedules/{schedule_id}"))

    # --- documents to records -------------------------------------------------------------

    @staticmethod
    def _function(data: dict[str, Any]) -> FunctionRecord:
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

    @staticmethod
    def _version(data: dict[str, Any]) -> VersionRecord:
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

    @staticmethod
    def _execution(data: dict[str, Any]) -> ExecutionRecord:
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

    @staticmethod
    def _step(execution_id: str, data: dict[str, Any]) -> StepRecord:
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

    @staticmethod
    def _key(data: dict[str, Any]) -> ApiKeyRecord:
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

    @staticmethod
    def _webhook(data: dict[str, Any]) -> WebhookRecord:
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

    @staticmethod
    def _delivery(data: dict[str, Any]) -> DeliveryRecord:
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

    @staticmethod
    def _schedule(data: dict[str, Any]) -> ScheduleRecord:
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
