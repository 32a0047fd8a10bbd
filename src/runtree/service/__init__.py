"""Use cases: deploy, start and read executions. The CLI and the HTTP API call only these."""

from ..execution.inputs import InputError, InputProblem
from .deploy import (
    DeployResult,
    InvalidName,
    InvalidSettings,
    SourceTooLarge,
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

__all__ = [
    "DeployResult",
    "InputError",
    "InputProblem",
    "InvalidName",
    "InvalidSettings",
    "SourceTooLarge",
    "VersionSettings",
    "cancel_execution",
    "deploy",
    "failing_path",
    "input_from_pairs",
    "local_worker_id",
    "make_settings",
    "recover_after_crash",
    "render_steps",
    "resolve_versions",
    "run_here",
    "start_execution",
    "tree_text",
    "validate_name",
    "wait_for",
]
