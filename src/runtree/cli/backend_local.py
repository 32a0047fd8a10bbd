"""The database itself as a command's :class:`~runtree.cli.backend_protocol.Backend`: every
call goes to the use cases of :mod:`runtree.service` (or the store's plain queries) in this
process, with the CLI acting as an admin (:meth:`runtree.service.Principal.local`): whoever can
open the database can change anything in it anyway.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .. import service  # a lazy package: its parts are imported when a command uses them
from ..errors import NotFoundError

if TYPE_CHECKING:  # imported where used: SQLAlchemy and pydantic are slow to import
    # the submodules used as service.access ... (the package imports them when first read)
    import runtree.service.access
    import runtree.service.redelivery
    import runtree.service.retention
    import runtree.service.schedules
    import runtree.service.webhooks  # noqa: F401

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
    from ..service import Principal
    from ..settings import VersionSettings
    from ..store import Store


class LocalBackend:
    """The database itself, with the CLI acting as a local admin."""

    remote = False

    def __init__(
        self, store: Store, principal: Principal | None = None, database_url: str | None = None
    ) -> None:
        self.store = store
        self.principal = principal or service.Principal.local()
        self.database_url = database_url or store.url

    @property
    def description(self) -> str:
        return f"database {self.store.url}"

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
        return service.deploy_function(
            self.store,
            self.principal,
            namespace,
            name,
            source,
            settings=settings,
            description=description,
            known_functions=known_functions,
            created_by=created_by,
            shadow=shadow,
        )

    def shadow_report(self, namespace: str, name: str, report_id: str) -> dict[str, Any]:
        report = self.store.get_shadow_report(report_id)
        if report is None or (report.namespace, report.name) != (namespace, name):
            raise NotFoundError("shadow-report", report_id)
        return service.shadow.report_document(self.store, report)

    def shadow_reports(
        self, namespace: str, name: str, version: int | None, limit: int
    ) -> list[dict[str, Any]]:
        reports = self.store.list_shadow_reports(namespace, name, version=version, limit=limit)
        return [service.shadow.report_document(self.store, r) for r in reports]

    def finish_shadow(self, namespace: str, name: str, report_id: str) -> dict[str, Any]:
        """Run the report's queued runs here, one after the other (as ``runtree run`` does;
        a run a server on this database claimed first is waited for), then read it."""
        from ..settings import Settings

        queued = [run for run in self.store.shadow_runs(report_id) if not run.finished]
        if queued:
            settings = Settings.load(database_url=self.database_url)
            worker_id = service.local_worker_id("cli")
            service.run_all_here(self.store, queued, worker_id, settings=settings)
        return self.shadow_report(namespace, name, report_id)

    def promote(
        self, namespace: str, name: str, number: int, require_clean: bool
    ) -> dict[str, Any]:
        result = service.promote_version(
            self.store, self.principal, namespace, name, number, require_clean=require_clean
        )
        return {
            "function": result.function,
            "previous_version": result.previous,
            "current_version": result.current,
            "changed": result.changed,
        }

    def get_function(self, namespace: str, name: str) -> FunctionRecord | None:
        return self.store.get_function(namespace, name)

    def list_functions(self, namespace: str | None = None) -> list[FunctionRecord]:
        return self.store.list_functions(namespace)

    def list_versions(self, namespace: str, name: str) -> list[VersionRecord]:
        return self.store.list_versions(namespace, name)

    def get_version(
        self, namespace: str, name: str, number: int | None = None
    ) -> VersionRecord | None:
        return self.store.get_version(namespace, name, number)

    def start(self, namespace: str, name: str, data: Any, version: int | None) -> ExecutionRecord:
        from ..models import Trigger

        return service.run_function(
            self.store,
            self.principal,
            namespace,
            name,
            data,
            version=version,
            trigger=Trigger.CLI,
        )

    def finish(
        self, execution: ExecutionRecord, cancel: threading.Event | None = None
    ) -> ExecutionRecord:
        """Run it here, in a worker process started by this process, sandboxed as a server on
        this database would be (its settings from the environment)."""
        from ..settings import Settings

        worker_id = service.local_worker_id("cli")
        settings = Settings.load(database_url=self.database_url)
        return service.run_here(
            self.store, execution, worker_id=worker_id, cancel=cancel, settings=settings
        )

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        return self.store.get_execution(execution_id)

    def get_steps(self, execution_id: str) -> list[StepRecord]:
        return self.store.get_steps(execution_id)

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
        return self.store.list_executions(
            namespace=namespace,
            name=name,
            status=status,
            limit=limit,
            cursor=cursor,
            include_shadow=include_shadow,
        )

    def tree_text(self, execution_id: str) -> str:
        return service.tree_text(self.store, execution_id)

    def test_from(
        self,
        execution_id: str,
        step: str | None,
        *,
        live: bool,
        xfail: bool,
        source_dir: str | None,
    ) -> GeneratedTest:
        from ..service.testgen import generate_test

        return generate_test(
            self.store, execution_id, step, live=live, xfail=xfail, source_dir=source_dir
        )

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
        return self.store.find_value(
            value,
            key=key,
            namespace=namespace,
            name=name,
            limit=limit,
            cursor=cursor,
            include_shadow=include_shadow,
        )

    def blame(
        self,
        namespace: str,
        name: str,
        *,
        from_version: int | None,
        to_version: int | None,
        runs: int,
    ) -> dict[str, Any]:
        from ..service.history import blame_document  # scipy: imported only when used

        return blame_document(
            self.store, namespace, name, from_version=from_version, to_version=to_version, runs=runs
        )

    def cancel(self, execution_id: str) -> ExecutionRecord:
        return service.cancel(self.store, self.principal, execution_id)

    def replay(
        self, execution_id: str, *, deterministic: bool = False, version: int | None = None
    ) -> ExecutionRecord:
        return service.replay(
            self.store,
            self.principal,
            execution_id,
            deterministic=deterministic,
            version=version,
        )

    def world(self, execution_id: str) -> dict[str, Any]:
        return service.world_document(self.store, self.principal, execution_id)

    def replay_delivery(self, delivery_id: str, *, version: int | None = None) -> ExecutionRecord:
        return service.redelivery.replay_delivery(
            self.store, self.principal, delivery_id, version=version
        )

    def create_key(
        self, role: str, namespace: str | None, name: str | None
    ) -> tuple[str, ApiKeyRecord]:
        return service.access.create_key(
            self.store, self.principal, role=role, namespace=namespace, name=name
        )

    def list_keys(self, include_revoked: bool = False) -> list[ApiKeyRecord]:
        return service.access.list_keys(self.store, self.principal, include_revoked=include_revoked)

    def revoke_key(self, prefix: str) -> ApiKeyRecord:
        return service.access.revoke_key(self.store, self.principal, prefix)

    def list_audit(
        self,
        *,
        namespace: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[list[AuditRecord], int | None]:
        return service.access.list_audit(
            self.store,
            self.principal,
            namespace=namespace,
            action=action,
            limit=limit,
            cursor=cursor,
        )

    def list_retention(self) -> list[RetentionPolicyRecord]:
        return service.retention.list_policies(self.store, self.principal)

    def set_retention(
        self, kind: str, target: str | None, keep_days: int | None, keep_last: int | None
    ) -> RetentionPolicyRecord:
        return service.retention.set_policy(
            self.store,
            self.principal,
            service.retention.parse_target(target, kind),
            keep_days=keep_days,
            keep_last=keep_last,
        )

    def remove_retention(self, kind: str, target: str | None) -> RetentionPolicyRecord:
        return service.retention.remove_policy(
            self.store, self.principal, service.retention.parse_target(target, kind)
        )

    def prune(self, dry_run: bool) -> dict[str, Any]:
        """Here, in this process, in the same paced batches a server uses."""
        return service.retention.prune(self.store, self.principal, dry_run=dry_run)

    def storage(self) -> dict[str, Any]:
        return service.retention.storage(self.store, self.principal)

    def vacuum(self) -> dict[str, Any]:
        """``VACUUM`` the SQLite database (local only), then its storage."""
        return service.retention.storage(self.store, self.principal, vacuum=True)

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
        return service.webhooks.create_webhook(
            self.store,
            self.principal,
            namespace,
            name,
            path=path,
            verify=verify,
            secret=secret,
            mode=mode,
            version=version,
            sync_timeout_s=sync_timeout_s,
        )

    def list_webhooks(self, namespace: str | None = None) -> list[WebhookRecord]:
        return service.webhooks.list_webhooks(self.store, self.principal, namespace)

    def delete_webhook(self, path: str) -> WebhookRecord:
        return service.webhooks.delete_webhook(self.store, self.principal, path)

    def list_deliveries(
        self, path: str, *, status: str | None = None, limit: int = 50
    ) -> list[DeliveryRecord]:
        page, _ = service.webhooks.list_deliveries(
            self.store, self.principal, path=path, status=status, limit=limit
        )
        return page

    def get_delivery(self, delivery_id: str) -> DeliveryRecord:
        return service.webhooks.get_delivery(self.store, self.principal, delivery_id)

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
        return service.schedules.create_schedule(
            self.store,
            self.principal,
            namespace,
            name,
            cron=cron,
            timezone=timezone,
            input=input,
            version=version,
        )

    def list_schedules(self, namespace: str | None = None) -> list[ScheduleRecord]:
        return service.schedules.list_schedules(self.store, self.principal, namespace)

    def get_schedule(self, schedule_id: int) -> tuple[ScheduleRecord, list[ScheduleFireRecord]]:
        record = service.schedules.get_schedule(self.store, self.principal, schedule_id)
        return record, self.store.list_fires(schedule_id, 20)

    def set_schedule_paused(self, schedule_id: int, paused: bool) -> ScheduleRecord:
        return service.schedules.set_paused(self.store, self.principal, schedule_id, paused)

    def delete_schedule(self, schedule_id: int) -> ScheduleRecord:
        return service.schedules.delete_schedule(self.store, self.principal, schedule_id)
