"""Which executions handled a value: ``runtree find``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .names import parse_function
from .output import echo_json, execution_json, make_console
from .tables import make_table
from .views import status_text


def _where(steps: list[dict[str, Any]]) -> str:
    parts = []
    for step in steps:
        place = "execution input" if step["step_id"] == 0 else f"step {step['step_id']}"
        under = f" {step['key']}" if step["key"] else ""
        parts.append(f"{place} {step['kind']}{under}")
    return ", ".join(parts)


def find(
    ctx: typer.Context,
    value: Annotated[
        str, typer.Argument(metavar="TEXT", help="The value (trimmed, case-insensitive)")
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key", "-k", metavar="NAME", help="Only where found under this parameter or key"
        ),
    ] = None,
    function: Annotated[
        str | None, typer.Option("--function", "-f", metavar="NS/NAME", help="Only this function")
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "-l", metavar="N", min=1, max=1000, help="At most N (1 to 1000)"),
    ] = 20,
    cursor: Annotated[
        str | None,
        typer.Option("--after", metavar="ID", help="The page after this execution id"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Find the runs that handled a value, and the steps that did.

    TEXT is looked for in every input and output of every step, at any depth (also in a
    run's redacted input), newest first. Values are indexed as keyed hashes, never stored in
    clear; strings up to 256 characters; a number finds 42, 42.0 and "42" alike."""
    namespace, name = parse_function(function) if function is not None else (None, None)
    with open_backend(ctx, database, server) as store:
        page, more = store.find_value(
            value, key=key, namespace=namespace, name=name, limit=limit, cursor=cursor
        )
    if as_json:
        echo_json(
            {
                "results": [
                    {"execution": execution_json(record), "steps": steps} for record, steps in page
                ],
                "next_cursor": more,
            }
        )
        return
    if not page:
        make_console(stderr=True).print("no execution handled this value", style="dim")
        return
    table = make_table("id", "function", "version", "status", "where")
    for record, steps in page:
        table.add_row(
            record.id,
            Text(record.qualified_name),
            f"v{record.version}",
            status_text(record.status),
            Text(_where(steps)),
        )
    make_console().print(table)
    if more is not None:
        make_console(stderr=True).print(f"(more: --after {more})", style="dim")
