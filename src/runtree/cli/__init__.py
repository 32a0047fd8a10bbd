"""The ``runtree`` command line: argument parsing and presentation only.

Every command calls the use cases of :mod:`runtree.service` (or the store's plain queries) and
renders what they return; exit codes are 0 success, 1 the function failed, 2 usage or input
error (docs/design.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from .. import __version__
from . import (
    commands_access,
    commands_blame,
    commands_compare,
    commands_deploy,
    commands_doctor,
    commands_export,
    commands_find,
    commands_inspect,
    commands_retention,
    commands_run,
    commands_secrets,
    commands_serve,
    commands_shadow,
    commands_testfrom,
    commands_triggers,
    commands_worker,
)
from .backend import ServerOption
from .database import DatabaseOption, GlobalOptions
from .errors import handle_errors
from .help import HelpCommand, HelpGroup, OptionalValueCommand

app = typer.Typer(
    name="runtree",
    cls=HelpGroup,
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


_COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("serve", commands_serve.serve),
    ("worker", commands_worker.worker),
    ("workers", commands_worker.workers),
    ("deploy", commands_deploy.deploy),
    ("run", commands_run.run),
    ("show", commands_inspect.show),
    ("tree", commands_inspect.tree),
    ("export", commands_export.export),
    ("test-from", commands_testfrom.test_from),
    ("executions", commands_inspect.executions),
    ("find", commands_find.find),
    ("functions", commands_inspect.functions),
    ("versions", commands_inspect.versions),
    ("diff", commands_inspect.diff),
    ("compare", commands_compare.compare),
    ("blame", commands_blame.blame),
    ("shadow", commands_shadow.shadow),
    ("promote", commands_shadow.promote),
    ("cancel", commands_run.cancel),
    ("replay", commands_triggers.replay),
    ("audit", commands_access.audit),
    ("prune", commands_retention.prune),
    ("storage", commands_retention.storage),
    ("doctor", commands_doctor.doctor),
]


class _DeployCommand(OptionalValueCommand):
    optional_values = {"--shadow": str(commands_deploy.DEFAULT_SHADOW_RUNS)}


_CLASSES: dict[str, type[HelpCommand]] = {"deploy": _DeployCommand}
for _name, _command in _COMMANDS:
    app.command(_name, cls=_CLASSES.get(_name, HelpCommand))(handle_errors(_command))

_GROUPS: list[tuple[str, str, list[tuple[str, Callable[..., None]]]]] = [
    (
        "keys",
        "API keys: create (shown once), list, revoke.",
        [
            ("create", commands_access.create),
            ("list", commands_access.list_),
            ("revoke", commands_access.revoke),
        ],
    ),
    (
        "retention",
        "Retention: how long executions, webhook deliveries and audit entries are kept.",
        [
            ("show", commands_retention.show),
            ("set", commands_retention.set_),
            ("unset", commands_retention.unset),
        ],
    ),
    (
        "webhooks",
        "Webhooks: POST /hooks/PATH starts a function.",
        [
            ("create", commands_triggers.webhook_create),
            ("list", commands_triggers.webhook_list),
            ("delete", commands_triggers.webhook_delete),
            ("deliveries", commands_triggers.webhook_deliveries),
            ("delivery", commands_triggers.webhook_delivery),
            ("replay", commands_triggers.webhook_replay),
        ],
    ),
    (
        "secrets",
        "The key that encrypts webhook secrets and secret inputs at rest.",
        [
            ("rotate", commands_secrets.rotate),
            ("status", commands_secrets.status),
            ("generate-key", commands_secrets.generate_key),
        ],
    ),
    (
        "schedules",
        "Schedules: run a function on a cron expression, in a time zone.",
        [
            ("create", commands_triggers.schedule_create),
            ("list", commands_triggers.schedule_list),
            ("show", commands_triggers.schedule_show),
            ("pause", commands_triggers.schedule_pause),
            ("resume", commands_triggers.schedule_resume),
            ("delete", commands_triggers.schedule_delete),
        ],
    ),
]
for _group, _help, _members in _GROUPS:
    _sub = typer.Typer(
        name=_group,
        cls=HelpGroup,
        help=_help,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    for _name, _command in _members:
        _sub.command(_name, cls=HelpCommand)(handle_errors(_command))
    app.add_typer(_sub, name=_group)


def main() -> None:
    """The ``runtree`` console script."""
    app(prog_name="runtree")


__all__ = ["app", "main"]
