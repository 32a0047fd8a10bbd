"""The ``runtree`` command line: argument parsing and presentation only.

Every command calls the use cases of :mod:`runtree.service` (or the store's plain queries) and
renders what they return; exit codes are 0 success, 1 the function failed, 2 usage or input
error (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from .. import __version__
from . import commands_deploy, commands_inspect, commands_run, commands_serve
from .database import DatabaseOption, GlobalOptions
from .errors import handle_errors

app = typer.Typer(
    name="runtree",
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
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version"),
    ] = False,
) -> None:
    ctx.obj = GlobalOptions(database=database)


_COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("serve", commands_serve.serve),
    ("deploy", commands_deploy.deploy),
    ("run", commands_run.run),
    ("show", commands_inspect.show),
    ("tree", commands_inspect.tree),
    ("executions", commands_inspect.executions),
    ("functions", commands_inspect.functions),
    ("versions", commands_inspect.versions),
    ("diff", commands_inspect.diff),
    ("cancel", commands_run.cancel),
]
for _name, _command in _COMMANDS:
    app.command(_name)(handle_errors(_command))


def main() -> None:
    """The ``runtree`` console script."""
    app(prog_name="runtree")


__all__ = ["app", "main"]
