"""Use cases: deploy, start and read executions; access control and the audit log;
webhooks and schedules. The CLI and the HTTP API call only these."""

from typing import TYPE_CHECKING

from ..errors import (
    DeliveryInputError,
    DeliveryRejected,
    Forbidden,
    InputError,
    InputProblem,
    InvalidKeyRequest,
    InvalidName,
    InvalidSchedule,
    InvalidSettings,
    InvalidWebhook,
    MethodNotAllowed,
    SourceTooLarge,
    Unauthenticated,
)
from ..lazy_exports import lazy_exports
from ..models import Permission

if TYPE_CHECKING:
    from ..store import MAX_LIST_LIMIT, MAX_SEARCH_LENGTH
    from .access import Principal, authenticate, authorize
    from .deploy import (
        DeployResult,
        VersionSettings,
        deploy,
        make_settings,
        validate_name,
    )
    from .executions import (
        cancel_execution,
        failing_path,
        input_from_pairs,
        local_worker_id,
        recover_after_crash,
        render_steps,
        resolve_versions,
        run_here,
        start_execution,
        tree_text,
        wait_for,
    )
    from .explore import (
        FunctionStats,
        Outline,
        SlowStep,
        StepDetail,
        StepPage,
        VersionStats,
        critical_path,
        execution_outline,
        failing_path_ids,
        function_stats,
        percentile,
        self_times,
        step_detail,
        step_page,
    )
    from .guarded import cancel, deploy_function, replay, run_function, visible_execution
    from .sandbox import Sandbox, SandboxReport, SandboxUnavailable, probe_sandbox
    from .schedules import Scheduler

# Imported when first used: most of these import the store (SQLAlchemy), and the command
# line must not pay for that to print its help. The errors above are light.
lazy_exports(__name__, {
    "MAX_LIST_LIMIT": "..store", "MAX_SEARCH_LENGTH": "..store", "Principal": ".access",
    "authenticate": ".access", "authorize": ".access", "DeployResult": ".deploy",
    "VersionSettings": ".deploy", "deploy": ".deploy", "make_settings": ".deploy",
    "validate_name": ".deploy", "cancel_execution": ".executions",
    "failing_path": ".executions", "input_from_pairs": ".executions",
    "local_worker_id": ".executions", "recover_after_crash": ".executions",
    "render_steps": ".executions", "resolve_versions": ".executions", "run_here": ".executions",
    "start_execution": ".executions", "tree_text": ".executions", "wait_for": ".executions",
    "FunctionStats": ".explore", "Outline": ".explore", "SlowStep": ".explore",
    "StepDetail": ".explore", "StepPage": ".explore", "VersionStats": ".explore",
    "critical_path": ".explore", "execution_outline": ".explore",
    "failing_path_ids": ".explore", "function_stats": ".explore", "percentile": ".explore",
    "self_times": ".explore", "step_detail": ".explore", "step_page": ".explore",
    "cancel": ".guarded", "deploy_function": ".guarded", "replay": ".guarded",
    "run_function": ".guarded", "visible_execution": ".guarded", "Sandbox": ".sandbox",
    "SandboxReport": ".sandbox", "SandboxUnavailable": ".sandbox", "probe_sandbox": ".sandbox",
    "Scheduler": ".schedules",
})

__all__ = [
    "MAX_LIST_LIMIT",
    "MAX_SEARCH_LENGTH",
    "DeliveryInputError",
    "DeliveryRejected",
    "DeployResult",
    "Forbidden",
    "FunctionStats",
    "InputError",
    "InputProblem",
    "InvalidKeyRequest",
    "InvalidName",
    "InvalidSchedule",
    "InvalidSettings",
    "InvalidWebhook",
    "MethodNotAllowed",
    "Outline",
    "Permission",
    "Principal",
    "Sandbox",
    "SandboxReport",
    "SandboxUnavailable",
    "Scheduler",
    "SlowStep",
    "SourceTooLarge",
    "StepDetail",
    "StepPage",
    "Unauthenticated",
    "VersionSettings",
    "VersionStats",
    "authenticate",
    "authorize",
    "cancel",
    "cancel_execution",
    "critical_path",
    "deploy",
    "deploy_function",
    "execution_outline",
    "failing_path",
    "failing_path_ids",
    "function_stats",
    "input_from_pairs",
    "local_worker_id",
    "make_settings",
    "percentile",
    "probe_sandbox",
    "recover_after_crash",
    "render_steps",
    "replay",
    "resolve_versions",
    "run_function",
    "run_here",
    "self_times",
    "start_execution",
    "step_detail",
    "step_page",
    "tree_text",
    "validate_name",
    "visible_execution",
    "wait_for",
]
