"""The ``runtree`` command line: argument parsing and presentation only.

Every command calls the use cases of :mod:`runtree.service` (or the store's plain queries) and
renders what they return; exit codes are 0 success, 1 the function failed, 2 usage or input
error (docs/design.md).
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .backend import ServerOption
from .database import DatabaseOption, GlobalOptions
from .lazy import LazyCommand, LazyCommandGroup, LazyGroup


class _RuntreeGroup(LazyCommandGroup):
    # Each command's module is imported when the command is used; --help lists these summaries
    # (tests/cli/test_lazy_commands.py checks them against the docstrings).
    lazy_commands = (
        LazyCommand(
            "serve",
            "commands_serve:serve",
            "Serve the HTTP API and the web UI, run queued executions and fire schedules.",
        ),
        LazyCommand(
            "worker",
            "commands_worker:worker",
            "Run executions from the PostgreSQL queue: one of any number of workers, on any "
            "machine that reaches the database.",
        ),
        LazyCommand(
            "workers",
            "commands_worker:workers",
            "List the workers (live or lost, their slots and what each runs) and the depth of "
            "each queue.",
        ),
        LazyCommand(
            "deploy",
            "commands_deploy:deploy",
            "Deploy functions: a new version when source or settings changed, else unchanged.",
            cls="commands_deploy:DeployCommand",
        ),
        LazyCommand(
            "run",
            "commands_run:run",
            "Run a function here, in a fresh worker process, and show what it did.",
        ),
        LazyCommand(
            "show",
            "commands_inspect:show",
            "Show an execution: its tree, its output or its error with the failing path.",
        ),
        LazyCommand(
            "tree",
            "commands_inspect:tree",
            "Print an execution's tree as plain text, without colours or a header (for scripts).",
        ),
        LazyCommand(
            "export",
            "commands_export:export",
            "Export an execution as a trace file to open in Perfetto, chrome://tracing or "
            "speedscope.",
        ),
        LazyCommand(
            "test-from",
            "commands_testfrom:test_from",
            "Write a pytest file that replays one recorded call: its function's source, its "
            "recorded inputs, and an assertion on its recorded output (or pytest.raises with the"
            " recorded error); calls into other deployed functions answered by stubs, in order.",
        ),
        LazyCommand(
            "executions",
            "commands_inspect:executions",
            "List executions, newest first (shadow runs only with --shadow).",
        ),
        LazyCommand(
            "find",
            "commands_find:find",
            "Find the runs that handled a value, and the steps that did.",
        ),
        LazyCommand(
            "functions",
            "commands_inspect:functions",
            "List deployed functions with their current version and last run.",
        ),
        LazyCommand(
            "versions",
            "commands_inspect:versions",
            "List a function's versions, oldest first.",
        ),
        LazyCommand(
            "diff",
            "commands_inspect:diff",
            "Show how two versions of a function differ (unified diff of their sources).",
        ),
        LazyCommand(
            "compare",
            "commands_compare:compare",
            "Compare two runs by their trees: steps aligned by call path (one extra loop "
            "iteration is one inserted step), what differs in each pair (status, error, inputs, "
            "output, version, own/total time), steps only in one run, and the first divergence "
            "(marked '>'). Works across versions and functions.",
        ),
        LazyCommand(
            "blame",
            "commands_blame:blame",
            "Blame the version that got slower: per call path, own and total time per run "
            "(p50/p95, n) in each version, a Mann-Whitney U test of the change, the paths "
            "flagged slower or faster (>= 8 runs on each side, adjusted p < 0.01, x1.2 and >= "
            "0.1 ms) or failing more often, and the source hunks on each flagged path.",
        ),
        LazyCommand(
            "shadow",
            "commands_shadow:shadow",
            "Show a shadow report: each recorded input replayed against a version that is not "
            "current yet (runtree deploy --shadow), with its verdict -- same, different output, "
            "new error, fixed error, different error, different tree or slower.",
        ),
        LazyCommand(
            "promote",
            "commands_shadow:promote",
            "Make a stored version of a function current: the one runs, webhooks and schedules "
            "use by default (audited). Also a rollback: promote an older version.",
        ),
        LazyCommand(
            "cancel",
            "commands_run:cancel",
            "Cancel a queued execution at once, or ask the worker of a running one to stop it.",
        ),
        LazyCommand(
            "replay",
            "commands_replay:replay",
            "Run an execution again: the same version(s), the same input (for a webhook "
            "delivery, the same raw body and headers). With --deterministic, in the same world "
            "too: HTTP answered from its recording, its clock reads and random values replayed; "
            "a request that was not recorded fails, and the report names the first divergence. "
            "Exit code as for runtree run.",
        ),
        LazyCommand(
            "audit",
            "commands_access:audit",
            "The audit log, newest first: who deployed, ran, cancelled, replayed; key, webhook "
            "and schedule changes.",
        ),
        LazyCommand(
            "prune",
            "commands_retention:prune",
            "Delete now what the retention policies let go (admin; audited), in the small "
            "batches `runtree serve` uses every few minutes, or only say what would go, per "
            "function.",
        ),
        LazyCommand(
            "storage",
            "commands_retention:storage",
            "Sizes per namespace and function (admin): executions, steps, payload bytes (the "
            "stored serialized values and recordings of the outside world) and the retention "
            "policy that applies; deliveries, audit entries, and the database's size.",
        ),
        LazyCommand(
            "doctor",
            "commands_doctor:doctor",
            "Probe the sandbox user code runs in and report every layer: on, or off and why.",
        ),
        LazyGroup(
            "keys",
            "API keys: create (shown once), list, revoke.",
            (
                ("create", "commands_access:create"),
                ("list", "commands_access:list_"),
                ("revoke", "commands_access:revoke"),
            ),
        ),
        LazyGroup(
            "retention",
            "Retention: how long executions, webhook deliveries and audit entries are kept.",
            (
                ("show", "commands_retention:show"),
                ("set", "commands_retention:set_"),
                ("unset", "commands_retention:unset"),
            ),
        ),
        LazyGroup(
            "webhooks",
            "Webhooks: POST /hooks/PATH starts a function.",
            (
                ("create", "commands_webhooks:webhook_create"),
                ("list", "commands_webhooks:webhook_list"),
                ("delete", "commands_webhooks:webhook_delete"),
                ("deliveries", "commands_webhooks:webhook_deliveries"),
                ("delivery", "commands_webhooks:webhook_delivery"),
                ("replay", "commands_webhooks:webhook_replay"),
            ),
        ),
        LazyGroup(
            "secrets",
            "The key that encrypts webhook secrets and secret inputs at rest.",
            (
                ("rotate", "commands_secrets:rotate"),
                ("status", "commands_secrets:status"),
                ("generate-key", "commands_secrets:generate_key"),
            ),
        ),
        LazyGroup(
            "schedules",
            "Schedules: run a function on a cron expression, in a time zone.",
            (
                ("create", "commands_schedules:schedule_create"),
                ("list", "commands_schedules:schedule_list"),
                ("show", "commands_schedules:schedule_show"),
                ("pause", "commands_schedules:schedule_pause"),
                ("resume", "commands_schedules:schedule_resume"),
                ("delete", "commands_schedules:schedule_delete"),
            ),
        ),
    )


app = typer.Typer(
    name="runtree",
    cls=_RuntreeGroup,
    help="Deploy plain Python functions, run them, and see every call as a tree.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"runtree {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    database: DatabaseOption = None,
    server: ServerOption = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version"),
    ] = False,
) -> None:
    ctx.obj = GlobalOptions(database=database, server=server)


def main() -> None:
    """The ``runtree`` console script."""
    app(prog_name="runtree")


__all__ = ["app", "main"]
