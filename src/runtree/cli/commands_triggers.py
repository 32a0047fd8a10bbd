"""``runtree webhooks ...``, ``runtree schedules ...`` and ``runtree replay``."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from ..models import (
    DeliveryRecord,
    ExecutionRecord,
    ExecutionStatus,
    ScheduleRecord,
    StepRecord,
    WebhookRecord,
)
from .backend import ServerOption, open_backend
from .commands_run import read_input, run_locally
from .database import DatabaseOption
from .errors import EXIT_FAILED, CliError
from .names import parse_function, resolve_execution_id
from .output import compact_json_text, echo_json, execution_document, make_console, record_json
from .tables import make_table
from .tree_view import DepthOption, FullOption, NoTreeOption, tree_options
from .views import local_time, print_execution

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
FunctionArgument = Annotated[
    str, typer.Argument(metavar="NS/NAME", help="The function (NAME alone: namespace default)")
]
NamespaceOption = Annotated[
    str | None, typer.Option("--namespace", "-n", metavar="NS", help="Only this namespace")
]
ScheduleId = Annotated[int, typer.Argument(metavar="ID", min=1, help="Schedule id")]
VERIFY = ("none", "github", "stripe", "slack", "hmac-sha256")


# --- webhooks -------------------------------------------------------------------------------


def webhook_json(record: WebhookRecord) -> dict[str, Any]:
    return {
        "path": record.path,
        "url_path": f"/hooks/{record.path}",
        "function": record.qualified_name,
        **record_json(record, drop=("id", "path", "secret")),
    }


def delivery_json(record: DeliveryRecord, *, body: bool) -> dict[str, Any]:
    data = record_json(record, drop=("webhook_id", "body"))
    if body:
        try:
            data["body"] = record.body.decode("utf-8")
        except UnicodeDecodeError:
            data["body"] = None
    else:
        data.pop("headers")
        data.pop("query_string")
    return data


def webhook_create(
    ctx: typer.Context,
    function: FunctionArgument,
    path: Annotated[
        str,
        typer.Option(
            "--path",
            metavar="PATH",
            help="POST /hooks/PATH starts the function",
        ),
    ],
    verify: Annotated[
        str,
        typer.Option(
            "--verify",
            metavar="SCHEME",
            help="Signature scheme: github, stripe, slack, hmac-sha256 (X-Signature-256) or none",
        ),
    ] = "none",
    secret_from_env: Annotated[
        str | None,
        typer.Option(
            "--secret-from-env",
            metavar="VAR",
            help="Read the signing secret from environment variable VAR (github "
            "and hmac-sha256 without one get a random secret, printed once)",
        ),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode", metavar="MODE", help="sync: answer with the output; async: 202 at once"
        ),
    ] = "async",
    version: Annotated[
        int | None,
        typer.Option(
            "--at-version",
            "-V",
            metavar="N",
            min=1,
            help="Always run version N [default: the latest at each run]",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", metavar="S", help="sync: wait at most S seconds [default: 10]"),
    ] = None,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Create a webhook: POST /hooks/PATH starts the function (trigger webhook)."""
    if verify not in VERIFY:
        raise typer.BadParameter(f"must be one of {', '.join(VERIFY)}", param_hint="--verify")
    if mode not in ("sync", "async"):
        raise typer.BadParameter("must be sync or async", param_hint="--mode")
    secret = None
    if secret_from_env is not None:
        secret = os.environ.get(secret_from_env)
        if not secret:
            raise CliError(f"--secret-from-env {secret_from_env}: the variable is not set")
    namespace, name = parse_function(function)
    with open_backend(ctx, database, server) as backend:
        record, generated = backend.create_webhook(
            namespace,
            name,
            path=path,
            verify=verify,
            secret=secret,
            mode=mode,
            version=version,
            sync_timeout_s=timeout,
        )
    console = make_console()
    console.print(
        Text(
            f"webhook {record.path} -> {record.qualified_name}"
            f"{f' v{record.version}' if record.version else ''} "
            f"(verify {record.verify}, {record.mode}): POST /hooks/{record.path}"
        ),
        soft_wrap=True,
    )
    if generated is not None:
        console.print(
            Text(f"signing secret (shown once, store it now): {generated}"), soft_wrap=True
        )
    if record.verify == "none":
        make_console(stderr=True).print(
            "unsigned: anyone who can reach the server and knows the path can run it",
            style="yellow",
        )


def webhook_list(
    ctx: typer.Context,
    namespace: NamespaceOption = None,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """List webhooks."""
    with open_backend(ctx, database, server) as backend:
        found = backend.list_webhooks(namespace)
    if as_json:
        echo_json([webhook_json(record) for record in found])
        return
    if not found:
        make_console(stderr=True).print("no webhooks", style="dim")
        return
    table = make_table("path", "function", "version", "verify", "mode", "created", "by")
    for record in found:
        table.add_row(
            Text(f"/hooks/{record.path}"),
            Text(record.qualified_name),
            f"v{record.version}" if record.version else "latest",
            record.verify,
            record.mode if record.mode == "async" else f"sync ({record.sync_timeout_s:g}s)",
            local_time(record.created_at),
            Text(record.created_by or "-"),
        )
    make_console().print(table)


def webhook_delete(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="PATH", help="The webhook's path")],
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Delete a webhook (its recorded deliveries are kept)."""
    with open_backend(ctx, database, server) as backend:
        record = backend.delete_webhook(path.removeprefix("/hooks/"))
    make_console().print(
        Text(f"deleted webhook {record.path} ({record.qualified_name})"), soft_wrap=True
    )


def webhook_deliveries(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="PATH", help="The webhook's path")],
    status: Annotated[
        str | None,
        typer.Option(
            "--status", metavar="STATUS", help="Only this status: accepted, duplicate or rejected"
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "-l", metavar="N", min=1, max=1000, help="At most N (1 to 1000)"),
    ] = 20,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Requests received on a webhook path, newest first (rejected ones too)."""
    if status is not None and status not in ("accepted", "duplicate", "rejected"):
        raise typer.BadParameter("must be accepted, duplicate or rejected", param_hint="--status")
    with open_backend(ctx, database, server) as backend:
        found = backend.list_deliveries(path.removeprefix("/hooks/"), status=status, limit=limit)
    if as_json:
        echo_json([delivery_json(record, body=False) for record in found])
        return
    if not found:
        make_console(stderr=True).print("no deliveries", style="dim")
        return
    table = make_table("id", "received", "status", "bytes", "execution", "reason")
    for record in found:
        table.add_row(
            record.id,
            local_time(record.received_at),
            record.status,
            str(record.body_size),
            record.execution_id or "-",
            Text(record.reason or ""),
        )
    make_console().print(table)


def webhook_delivery(
    ctx: typer.Context,
    delivery_id: Annotated[str, typer.Argument(metavar="ID", help="Delivery id")],
    body_only: Annotated[
        bool, typer.Option("--body", help="Write only the raw body, byte for byte, to stdout")
    ] = False,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """One delivery: its headers (secret ones redacted) and its raw body."""
    with open_backend(ctx, database, server) as backend:
        record = backend.get_delivery(delivery_id.strip().lower())
    if body_only:
        sys.stdout.flush()
        sys.stdout.buffer.write(record.body)
        sys.stdout.buffer.flush()
        return
    if as_json:
        echo_json(delivery_json(record, body=True))
        return
    console = make_console()
    query = f"?{record.query_string}" if record.query_string else ""
    console.print(
        Text(
            f"{record.method} /hooks/{record.path}{query}  ({record.status}, "
            f"{local_time(record.received_at)})"
        ),
        soft_wrap=True,
    )
    if record.reason:
        console.print(Text(f"reason: {record.reason}", style="red"), soft_wrap=True)
    if record.execution_id:
        console.print(Text(f"execution: {record.execution_id}"), soft_wrap=True)
    for name, value in record.headers:
        console.print(Text(f"{name}: {value}", style="dim"), soft_wrap=True)
    console.print()
    try:
        console.print(Text(record.body.decode("utf-8")), soft_wrap=True)
    except UnicodeDecodeError:
        console.print(
            Text(f"({record.body_size} bytes, not UTF-8: --body writes them)", style="dim")
        )
    if record.body_truncated:
        console.print(Text(f"(truncated: {record.body_size} bytes were received)", style="dim"))


def webhook_replay(
    ctx: typer.Context,
    delivery_id: Annotated[str, typer.Argument(metavar="ID", help="Delivery id")],
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            metavar="N",
            min=1,
            help="Run version N of the function (the fix deployed since) [default: the "
            "version that ran the delivery, with the versions it called]",
            show_default=False,
        ),
    ] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Only queue it; print its id")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The new execution as JSON")] = False,
    depth: DepthOption = None,
    full: FullOption = False,
    no_tree: NoTreeOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Run a webhook delivery's request again: its recorded raw body and headers (trigger
    replay), without checking its signature again. A rejected delivery started nothing and
    cannot be replayed. Prints the new execution as runtree run does; exit code as for
    runtree run."""
    view = tree_options(depth, full, no_tree)
    with open_backend(ctx, database, server) as backend:
        execution = backend.replay_delivery(delivery_id.strip().lower(), version=version)
        if no_wait:
            typer.echo(execution.id)
            return
        finished = run_locally(backend, execution)
        steps = backend.get_steps(finished.id)
    if as_json:
        echo_json(execution_document(finished, steps))
    else:
        print_execution(make_console(), finished, steps, view)
    if finished.status != ExecutionStatus.SUCCEEDED:
        raise typer.Exit(EXIT_FAILED)


# --- schedules ------------------------------------------------------------------------------


def schedule_json(record: ScheduleRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "function": record.qualified_name,
        **record_json(record, drop=("id",)),
        "description": _describe(record.cron),
    }


def schedule_create(
    ctx: typer.Context,
    function: FunctionArgument,
    cron: Annotated[
        str,
        typer.Option(
            "--cron",
            metavar="CRON",
            help='Five fields, e.g. "0 3 * * *"',
        ),
    ],
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            "--tz",
            metavar="ZONE",
            help="IANA time zone of the cron fields (Europe/Amsterdam)",
        ),
    ] = "UTC",
    input_json: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="JSON",
            help="Input as a JSON object (@FILE reads a file, - stdin)",
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--at-version",
            "-V",
            metavar="N",
            min=1,
            help="Always run version N [default: the latest at each run]",
        ),
    ] = None,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Run a function at the times a cron expression names (trigger schedule)."""
    namespace, name = parse_function(function)
    data = read_input(input_json)
    if data is not None and not isinstance(data, dict):
        raise CliError("--input must be a JSON object of parameter names")
    with open_backend(ctx, database, server) as backend:
        record = backend.create_schedule(
            namespace, name, cron=cron, timezone=timezone, input=data or {}, version=version
        )
    make_console().print(
        Text(
            f"schedule {record.id}: {record.qualified_name} {_describe(record.cron).lower()} "
            f"({record.cron}, {record.timezone}); next run {local_time(record.next_fire_at)}"
        ),
        soft_wrap=True,
    )


def schedule_list(
    ctx: typer.Context,
    namespace: NamespaceOption = None,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """List schedules."""
    with open_backend(ctx, database, server) as backend:
        found = backend.list_schedules(namespace)
    if as_json:
        echo_json([schedule_json(record) for record in found])
        return
    if not found:
        make_console(stderr=True).print("no schedules", style="dim")
        return
    table = make_table(
        "id", "function", "cron", "timezone", "state", "next run", "last run", "input"
    )
    for record in found:
        table.add_row(
            str(record.id),
            Text(record.qualified_name),
            record.cron,
            record.timezone,
            "paused" if record.paused else "active",
            "-" if record.paused else local_time(record.next_fire_at),
            local_time(record.last_fire_at),
            compact_json_text(record.input),
        )
    make_console().print(table)


def schedule_show(
    ctx: typer.Context,
    schedule_id: ScheduleId,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """A schedule and its recent fire times (late ones marked)."""
    with open_backend(ctx, database, server) as backend:
        record, fires = backend.get_schedule(schedule_id)
    if as_json:
        echo_json(
            {
                **schedule_json(record),
                "fires": [record_json(f, drop=("schedule_id",)) for f in fires],
            }
        )
        return
    console = make_console()
    state = "paused" if record.paused else f"next run {local_time(record.next_fire_at)}"
    console.print(
        Text(
            f"schedule {record.id}: {record.qualified_name} "
            f"{_describe(record.cron).lower()} ({record.cron}, {record.timezone}); "
            f"{state}"
        ),
        soft_wrap=True,
    )
    if not fires:
        console.print(Text("(no runs yet)", style="dim"))
        return
    table = make_table("fire time", "ran at", "execution", "late")
    for fire in fires:
        late = (
            f"late ({fire.missed} missed)"
            if fire.late and fire.missed
            else ("late" if fire.late else "")
        )
        table.add_row(
            local_time(fire.fire_time),
            local_time(fire.fired_at),
            fire.execution_id or "-",
            Text(late, style="yellow"),
        )
    console.print(table)


def _schedule_change(
    ctx: typer.Context, schedule_id: int, database: str | None, server: str | None, action: str
) -> None:
    with open_backend(ctx, database, server) as backend:
        if action == "delete":
            record = backend.delete_schedule(schedule_id)
        else:
            record = backend.set_schedule_paused(schedule_id, action == "pause")
    done = {"pause": "paused", "resume": "resumed", "delete": "deleted"}[action]
    line = f"{done} schedule {record.id} ({record.qualified_name}, {record.cron})"
    if action == "resume":
        line += f"; next run {local_time(record.next_fire_at)}"
    make_console().print(Text(line), soft_wrap=True)


def schedule_pause(
    ctx: typer.Context,
    schedule_id: ScheduleId,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Pause a schedule: it fires nothing until resumed."""
    _schedule_change(ctx, schedule_id, database, server, "pause")


def schedule_resume(
    ctx: typer.Context,
    schedule_id: ScheduleId,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Resume a paused schedule (the fire times it missed while paused are skipped)."""
    _schedule_change(ctx, schedule_id, database, server, "resume")


def schedule_delete(
    ctx: typer.Context,
    schedule_id: ScheduleId,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Delete a schedule."""
    _schedule_change(ctx, schedule_id, database, server, "delete")


# --- replay ---------------------------------------------------------------------------------


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


def _describe(cron: str) -> str:
    """``At 03:00``: the cron expression in words (cronsim, imported when needed)."""
    from ..service.schedules import describe

    return describe(cron)
