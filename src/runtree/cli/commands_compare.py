"""What changed between runs: ``runtree compare A B``."""

from __future__ import annotations

from typing import Annotated

import typer

from ..store import NotFoundError
from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .names import resolve_execution_id
from .output import echo_json, make_console
from .render_compare import comparison_lines


def compare(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(metavar="A", help="The first execution (id or prefix)")],
    b: Annotated[str, typer.Argument(metavar="B", help="The second execution (id or prefix)")],
    as_json: Annotated[
        bool, typer.Option("--json", help="The aligned rows and the first divergence as JSON")
    ] = False,
    only_changes: Annotated[
        bool, typer.Option("--changes", help="Only rows that differ, with their ancestors")
    ] = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Compare two runs by their trees: steps aligned by call path (one extra loop
    iteration is one inserted step), what differs in each pair (status, error, inputs,
    output, version, own/total time), steps only in one run, and the first divergence
    (marked '>'). Works across versions and functions."""
    with open_backend(ctx, database, server) as store:
        ids = [resolve_execution_id(store, text) for text in (a, b)]
        records = []
        for execution_id in ids:
            record = store.get_execution(execution_id)
            if record is None:
                raise NotFoundError("execution", execution_id)
            records.append(record)
        steps = [store.get_steps(execution_id) for execution_id in ids]
    from ..service.compare import compare_records, comparison_document

    document = comparison_document(compare_records(records[0], steps[0], records[1], steps[1]))
    if as_json:
        echo_json(document)
        return
    console = make_console()
    for line in comparison_lines(document, only_changes=only_changes):
        console.print(line, soft_wrap=True)
