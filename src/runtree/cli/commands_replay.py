"""``runtree replay``: run an execution again, with ``--deterministic`` in its recorded world,
and report how the replay used the recording and where it first diverged."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ..models import ExecutionRecord, ExecutionStatus, StepRecord
from .backend import ServerOption, open_backend
from .commands_run import run_locally
from .database import DatabaseOption
from .errors import EXIT_FAILED
from .names import resolve_execution_id
from .output import echo_json, execution_document, make_console
from .tree_view import DepthOption, FullOption, NoTreeOption, tree_options
from .views import print_execution


def replay(
    ctx: typer.Context,
    execution_id: Annotated[
        str, typer.Argument(metavar="ID", help="Execution id (or an unambiguous prefix)")
    ],
    deterministic: Annotated[
        bool,
        typer.Option(
            "--deterministic",
            help="Also replay what it got from the outside world: its recorded HTTP answers, "
            "clock reads and randomness, with network off",
        ),
    ] = False,
    version: Annotated[
        int | None,
        typer.Option("--version", metavar="N", min=1, help="Run version N of the function instead"),
    ] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Only queue it; print its id")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The new execution as JSON")] = False,
    depth: DepthOption = None,
    full: FullOption = False,
    no_tree: NoTreeOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Run an execution again: the same version(s), the same input (for a webhook delivery,
    the same raw body and headers). With --deterministic, in the same world too: HTTP
    answered from its recording, its clock reads and random values replayed; a request
    that was not recorded fails, and the report names the first divergence. Exit code as
    for runtree run."""
    view = tree_options(depth, full, no_tree)
    with open_backend(ctx, database, server) as backend:
        original = resolve_execution_id(backend, execution_id)
        execution = backend.replay(original, deterministic=deterministic, version=version)
        if no_wait:
            typer.echo(execution.id)
            return
        finished = run_locally(backend, execution)
        steps = backend.get_steps(finished.id)
        report = None
        if deterministic:
            world = backend.world(finished.id)
            report = world.get("report")
            source = backend.get_execution(original)
            divergence = None
            if source is not None:
                divergence = _structural_divergence(
                    source, backend.get_steps(original), finished, steps
                )
    if as_json:
        document = execution_document(finished, steps)
        if deterministic:
            document["replay"] = {"report": report, "structural_divergence": divergence}
        echo_json(document)
    else:
        console = make_console()
        print_execution(console, finished, steps, view)
        if deterministic:
            for line in replay_report_lines(original, report, divergence):
                console.print(line, soft_wrap=True, highlight=False)
    if finished.status != ExecutionStatus.SUCCEEDED:
        raise typer.Exit(EXIT_FAILED)


def _structural_divergence(
    a: ExecutionRecord, a_steps: list[StepRecord], b: ExecutionRecord, b_steps: list[StepRecord]
) -> dict[str, Any] | None:
    """Where the replay's tree first differs from the original's (``runtree compare``)."""
    from ..service.compare import compare_records, comparison_document

    document = comparison_document(compare_records(a, a_steps, b, b_steps))
    first: dict[str, Any] | None = document["first_divergence"]
    return first


def replay_report_lines(
    original: str, report: dict[str, Any] | None, structural: dict[str, Any] | None
) -> list[str]:
    """How a deterministic replay used the recording, and where it first diverged."""
    lines = ["", f"Deterministic replay of {original}"]
    if report is None:
        lines.append("  no report: the replay did not finish normally")
        return lines
    http, clock, entropy = report["http"], report["clock"], report["urandom"]
    lines.append(
        f"  http     {http['played']} of {http['recorded']} recorded answers played"
        + (f"; never asked: {', '.join(http['unplayed'])}" if http["unplayed"] else "")
    )
    lines.append(f"  clock    {clock['read']} reads, {clock['recorded']} recorded")
    lines.append(f"  random   {entropy['read']} bytes drawn, {entropy['recorded']} recorded")
    divergence = report.get("divergence")
    if divergence is not None:
        step = f" (step {divergence['step_id']})" if divergence.get("step_id") else ""
        lines.append(f"first divergence: {divergence['request']}{step}: {divergence['reason']}")
    elif structural is not None:
        path = " → ".join(structural["path"])
        lines.append(f"first divergence ({structural['reason']}): {path}")
    else:
        lines.append("same tree, output and error as the original")
    return lines
