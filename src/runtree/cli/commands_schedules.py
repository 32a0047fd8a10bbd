"""``runtree schedules ...``: run a function at the times a cron expression names; list,
show, pause, resume and delete schedules."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from ..models import ScheduleRecord
from .backend import ServerOption, open_backend
from .commands_run import read_input
from .database import DatabaseOption
from .errors import CliError
from .names import parse_function
from .output import compact_json_text, echo_json, make_console, record_json
from .tables import make_table
from .views import local_time

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
FunctionArgument = Annotated[
    str, typer.Argument(metavar="NS/NAME", help="The function (NAME alone: namespace default)")
]
NamespaceOption = Annotated[
    str | None, typer.Option("--namespace", "-n", metavar="NS", help="Only this namespace")
]
ScheduleId = Annotated[int, typer.Argument(metavar="ID", min=1, help="Schedule id")]


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


def _describe(cron: str) -> str:
    """``At 03:00``: the cron expression in words (cronsim, imported when needed)."""
    from ..service.schedules import describe

    return describe(cron)
