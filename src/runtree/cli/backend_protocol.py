"""What the commands need from where their data lives.

:class:`Backend` is every call a command makes; :class:`runtree.cli.backend_local.LocalBackend`
(a database opened here) and :class:`runtree.client.RemoteClient` (a runtree server) both
offer it and return the same records. :class:`ExecutionReader` is the two reads ``runtree
show`` needs, which a local SQLite database also answers without SQLAlchemy
(:func:`runtree.cli.backend.open_sqlite_reader`). :func:`runtree.cli.backend.open_backend`
picks the backend for a command.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # imported where used: pydantic is slow to import
    from ..models import (
        ApiKeyRecord,
        AuditRecord,
        DeliveryRecord,
        DeployResult,
        ExecutionRecord,
        FunctionRecord,
        GeneratedTest,
        RetentionPolicyRecord,
        ScheduleFireRecord,
        ScheduleRecord,
        StepRecord,
        VersionRecord,
        WebhookRecord,
    )
    from ..settings import VersionSettings


class Backend(Protocol):
    """What the commands need; :class:`LocalBackend` and :class:`RemoteClient` have it."""

    remote: bool

    @property
    def description(self) -> str: ...

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
    ) -> DeployResult: ...

    def shadow_report(self, namespace: str, name: str, report_id: str) -> dict[str, Any]: ...

    def shadow_reports(
        self, namespace: str, name: str, version: int | None, limit: int
    ) -> list[dict[str, Any]]: ...

    def finish_shadow(self, namespace: str, name: str, report_id: str) -> dict[str, Any]: ...

    def promote(
        self, namespace: str, name: str, number: int, require_clean: bool
    ) -> dict[str, Any]: ...

    def get_function(self, namespace: str, name: str) -> FunctionRecord | None: ...

    def list_functions(self, namespace: str | None = None) -> list[FunctionRecord]: ...

    def list_versions(self, namespace: str, name: str) -> list[VersionRecord]: ...

    def get_version(
        self, namespace: str, name: str, number: int | None = None
    ) -> VersionRecord | None: ...

    def start(
        self, namespace: str, name: str, data: Any, version: int | None
    ) -> ExecutionRecord: ...

    def finish(
        self, execution: ExecutionRecord, cancel: threading.Event | None = None
    ) -> ExecutionRecord: ...

    def get_execution(self, execution_id: str) -> ExecutionRecord | None: ...

    def get_steps(self, execution_id: str) -> list[StepRecord]: ...

    def list_executions(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_shadow: bool = False,
    ) -> tuple[list[ExecutionRecord], str | None]: ...

    def tree_text(self, execution_id: str) -> str: ...

    def test_from(
        self,
        execution_id: str,
        step: str | None,
        *,
        live: bool,
        xfail: bool,
        source_dir: str | None,
    ) -> GeneratedTest: ...

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
    ) -> tuple[list[tuple[ExecutionRecord, list[dict[str, Any]]]], str | None]: ...

    def blame(
        self,
        namespace: str,
        name: str,
        *,
        from_version: int | None,
        to_version: int | None,
        runs: int,
    ) -> dict[str, Any]: ...

    def cancel(self, execution_id: str) -> ExecutionRecord: ...

    def replay(
        self, execution_id: str, *, deterministic: bool = False, version: int | None = None
    ) -> ExecutionRecord: ...

    def world(self, execution_id: str) -> dict[str, Any]: ...

    def replay_delivery(self, delivery_id: str, *, version: int | None = None) -> ExecutionRecord:
        """Queue a webhook delivery's request again (trigger ``replay``), against the version
        that ran it or ``version``."""
        ...

    def create_key(
        self, role: str, namespace: str | None, name: str | None
    ) -> tuple[str, ApiKeyRecord]: ...

    def list_keys(self, include_revoked: bool = False) -> list[ApiKeyRecord]: ...

    def revoke_key(self, prefix: str) -> ApiKeyRecord: ...

    def list_audit(
        self,
        *,
        namespace: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[list[AuditRecord], int | None]: ...

    def list_retention(self) -> list[RetentionPolicyRecord]: ...

    def set_retention(
        self, kind: str, target: str | None, keep_days: int | None, keep_last: int | None
    ) -> RetentionPolicyRecord: ...

    def remove_retention(self, kind: str, target: str | None) -> RetentionPolicyRecord: ...

    def prune(self, dry_run: bool) -> dict[str, Any]: ...

    def storage(self) -> dict[str, Any]: ...

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
    ) -> tuple[WebhookRecord, str | None]: ...

    def list_webhooks(self, namespace: str | None = None) -> list[WebhookRecord]: ...

    def delete_webhook(self, path: str) -> WebhookRecord: ...

    def list_deliveries(
        self, path: str, *, status: str | None = None, limit: int = 50
    ) -> list[DeliveryRecord]: ...

    def get_delivery(self, delivery_id: str) -> DeliveryRecord: ...

    def create_schedule(
        self,
        namespace: str,
        name: str,
        *,
        cron: str,
        timezone: str,
        input: dict[str, Any],
        version: int | None,
    ) -> ScheduleRecord: ...

    def list_schedules(self, namespace: str | None = None) -> list[ScheduleRecord]: ...

    def get_schedule(self, schedule_id: int) -> tuple[ScheduleRecord, list[ScheduleFireRecord]]: ...

    def set_schedule_paused(self, schedule_id: int, paused: bool) -> ScheduleRecord: ...

    def delete_schedule(self, schedule_id: int) -> ScheduleRecord: ...


class ExecutionReader(Protocol):
    """Reading one execution and its steps by whole id (what ``runtree show`` needs)."""

    def get_execution(self, execution_id: str) -> ExecutionRecord | None: ...

    def get_steps(self, execution_id: str) -> list[StepRecord]: ...
