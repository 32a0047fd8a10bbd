"""``runtree export``: an execution as a trace file (Chrome trace events, speedscope, JSON)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ..service.trace_files import TraceFormat, export_trace
from ..store import NotFoundError
from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .names import resolve_execution_id
from .output import make_console, to_json


def export(
    ctx: typer.Context,
    execution_id: Annotated[
        str, typer.Argument(metavar="ID", help="Execution id (or an unambiguous prefix)")
    ],
    trace_format: Annotated[
        TraceFormat,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="chrome (Perfetto, chrome://tracing), speedscope, or json (steps with times)",
        ),
    ] = TraceFormat.CHROME,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="FILE", dir_okay=False, help="Write FILE [default: stdout]"
        ),
    ] = None,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Export an execution as a trace file to open in Perfetto, chrome://tracing or speedscope."""
    with open_backend(ctx, database, server) as store:
        full_id = resolve_execution_id(store, execution_id)
        execution = store.get_execution(full_id)
        if execution is None:
            raise NotFoundError("execution", full_id)
        steps = store.get_steps(full_id)
    text = to_json(export_trace(execution, steps, trace_format), indent=None) + "\n"
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    output.write_text(text, encoding="utf-8")
    make_console(stderr=True).print(
        f"wrote {output} ({trace_format}, {len(steps)} steps)", style="dim", soft_wrap=True
    )
