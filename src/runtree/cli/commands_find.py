"""Which executions handled a value: ``runtree find``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from ..models import ExecutionRecord
from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .names import parse_function
from .output import echo_json, execution_json, make_console
from .views import local_time, status_text


def _found_lines(record: ExecutionRecord, steps: list[dict[str, Any]]) -> Text:
    """One execution: its id, function, version, status and start, then one indented line
    per step that handled the value (``step 2 get_customer: output name``), so the listing
    reads the same on a narrow terminal."""
    text = Text()
    text.append(record.id)
    text.append(f"  {record.qualified_name} v{record.version}  ")
    text.append_text(status_text(record.status))
    text.append(f"  {local_time(record.started_at or record.queued_at)}", style="dim")
    if record.trigger == "shadow":
        text.append("  shadow run", style="magenta")
    for step in steps:
        where = f"{step['kind']} {step['key']}" if step["key"] else step["kind"]
        if step["step_id"] == 0:
            text.append(f"\n    run input: {where}")
        else:
            named = f" {step['name']}" if step.get("name") else ""
            text.append(f"\n    step {step['step_id']}{named}: {where}")
    return text


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
    include_shadow: Annotated[
        bool,
        typer.Option("--shadow", help="Also shadow runs (runtree deploy --shadow)"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text")] = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Find the runs that handled a value, and the steps that did.

    TEXT is looked for in every input and output of every step, at any depth (redacted
    values too), newest first; shadow runs only with --shadow. Values are indexed as keyed
    hashes, never stored in clear; strings up to 256 characters; a number finds 42, 42.0 and
    "42" alike."""
    namespace, name = parse_function(function) if function is not None else (None, None)
    with open_backend(ctx, database, server) as store:
        page, more = store.find_value(
            value,
            key=key,
            namespace=namespace,
            name=name,
            limit=limit,
            cursor=cursor,
            include_shadow=include_shadow,
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
    console = make_console()
    for record, steps in page:
        console.print(_found_lines(record, steps), soft_wrap=True)
    if more is not None:
        make_console(stderr=True).print(f"(more: --after {more})", style="dim")
