"""Shadow reports and promotion: ``runtree shadow NAME`` shows what a shadowed version did
with recorded inputs; ``runtree promote NAME VERSION`` makes a stored version current."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ..errors import ConflictError
from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .errors import EXIT_FAILED, CliError
from .names import normalize_id, parse_function
from .output import echo_json, make_console
from .render_shadow import report_lines

FunctionArgument = Annotated[
    str, typer.Argument(metavar="NS/NAME", help="The function (NAME alone: namespace default)")
]


def shadow(
    ctx: typer.Context,
    function: FunctionArgument,
    version: Annotated[
        int | None,
        typer.Argument(
            metavar="VERSION",
            min=1,
            help="The shadowed version [default: the newest report's]",
            show_default=False,
        ),
    ] = None,
    report: Annotated[
        str | None,
        typer.Option("--report", metavar="ID", help="This report (its full id)"),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Wait until every shadow run finished (without a server they run here)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Show a shadow report: each recorded input replayed against a version that is not
    current yet (runtree deploy --shadow), with its verdict -- same, different output, new
    error, fixed error, different error, different tree or slower.

    Exits 1 when the report is not clean (a difference, or runs still to go), so scripts can
    gate on it.
    """
    namespace, name = parse_function(function)
    with open_backend(ctx, database, server) as backend:
        if report is not None:
            report_id = normalize_id(report)
        else:
            found = backend.shadow_reports(namespace, name, version, 1)
            if not found:
                which = "" if version is None else f" v{version}"
                raise CliError(
                    f"{namespace}/{name}{which} has no shadow report "
                    "(runtree deploy PATH --shadow starts one)"
                )
            report_id = str(found[0]["id"])
        if wait:
            document = backend.finish_shadow(namespace, name, report_id)
        else:
            document = backend.shadow_report(namespace, name, report_id)
    if as_json:
        echo_json(document)
    else:
        console = make_console()
        for line in report_lines(document):
            console.print(line, soft_wrap=True)
    if not document["clean"]:
        raise typer.Exit(EXIT_FAILED)


def promote(
    ctx: typer.Context,
    function: FunctionArgument,
    version: Annotated[int, typer.Argument(metavar="VERSION", min=1, help="The version")],
    require_clean: Annotated[
        bool,
        typer.Option(
            "--require-clean",
            help="Refuse (exit 1, nothing changed) unless the version's latest shadow report "
            "finished against the current version with every input the same",
        ),
    ] = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Make a stored version of a function current: the one runs, webhooks and schedules
    use by default (audited). Also a rollback: promote an older version."""
    namespace, name = parse_function(function)
    with open_backend(ctx, database, server) as backend:
        try:
            result = backend.promote(namespace, name, version, require_clean)
        except ConflictError as error:
            if error.kind != "shadow-report":
                raise
            raise CliError(f"not promoted: {error}", exit_code=EXIT_FAILED) from None
    line = Text(f"{result['function']}: ")
    line.append(f"v{result['current_version']}", style="bold")
    if result["changed"]:
        line.append(f" is current (was v{result['previous_version']})")
    else:
        line.append(" was already current", style="dim")
    make_console().print(line, soft_wrap=True)
