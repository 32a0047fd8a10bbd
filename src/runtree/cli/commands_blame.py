"""Which call paths got slower from one version to the next: ``runtree blame``."""

from __future__ import annotations

from typing import Annotated

import typer

from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .names import parse_function
from .output import echo_json, make_console
from .render_blame import blame_lines

# runtree.service.history's limits (a test keeps them equal): importing it here would load
# the database and scipy on every start of the CLI.
DEFAULT_RUNS = 50
MAX_RUNS = 200


def blame(
    ctx: typer.Context,
    function: Annotated[
        str, typer.Argument(metavar="NS/NAME", help="The function (NAME alone: namespace default)")
    ],
    from_version: Annotated[
        int | None,
        typer.Option(
            "--from",
            metavar="N",
            min=1,
            help="Old version [default: the newest older one with runs]",
        ),
    ] = None,
    to_version: Annotated[
        int | None,
        typer.Option("--to", metavar="N", min=1, help="New version [default: the current one]"),
    ] = None,
    runs: Annotated[
        int,
        typer.Option(
            "--runs", metavar="N", min=1, max=MAX_RUNS, help="Newest finished runs per version"
        ),
    ] = DEFAULT_RUNS,
    as_json: Annotated[bool, typer.Option("--json", help="Every path as JSON")] = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Blame the version that got slower: per call path, own and total time per run
    (p50/p95, n) in each version, a Mann-Whitney U test of the change, the paths flagged
    slower or faster (>= 8 runs on each side, adjusted p < 0.01, x1.2 and >= 0.1 ms) or
    failing more often, and the source hunks on each flagged path."""
    namespace, name = parse_function(function)
    with open_backend(ctx, database, server) as store:
        document = store.blame(
            namespace, name, from_version=from_version, to_version=to_version, runs=runs
        )
    if as_json:
        echo_json(document)
        return
    console = make_console()
    for line in blame_lines(document):
        console.print(line, soft_wrap=True)
