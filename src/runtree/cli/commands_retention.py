"""``runtree retention show|set|unset``, ``runtree prune`` and ``runtree storage``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from ..models import RetentionPolicyRecord
from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .errors import CliError
from .output import echo_json, make_console, record_json
from .tables import make_table
from .views import local_time

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
TargetArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="TARGET",
        help="Executions of NS, of NS/NAME, or of * (every namespace without its own policy; "
        "the default)",
        show_default=False,
    ),
]
DeliveriesOption = Annotated[
    bool, typer.Option("--deliveries", help="The webhook deliveries' policy (no TARGET)")
]
AuditOption = Annotated[bool, typer.Option("--audit", help="The audit log's policy (no TARGET)")]


def _kind(deliveries: bool, audit: bool) -> str:
    if deliveries and audit:
        raise typer.BadParameter("give one of --deliveries and --audit", param_hint="--audit")
    return "deliveries" if deliveries else "audit" if audit else "executions"


def size(count: int | None) -> str:
    """Bytes for people: ``512 B``, ``1.5 KiB``, ``12.0 MiB``."""
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def describe(policy: RetentionPolicyRecord) -> str:
    """``kept 30 days, the newest 1,000 per function`` ..."""
    parts = []
    if policy.keep_days is not None:
        parts.append(f"{policy.keep_days:,} days")
    if policy.keep_last is not None:
        parts.append(f"the newest {policy.keep_last:,} per function")
    return "kept " + (", at most ".join(parts) if parts else "forever")


def _what(policy: RetentionPolicyRecord) -> str:
    if policy.kind != "executions":
        return str(policy.kind)
    if policy.target == "*":
        return "executions of every namespace"
    return f"executions of {policy.target}"


def show(
    ctx: typer.Context,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """The retention policies (admin). What no policy covers is kept forever."""
    with open_backend(ctx, database, server) as backend:
        policies = backend.list_retention()
    if as_json:
        echo_json([{**record_json(p), "target": p.target} for p in policies])
        return
    if not policies:
        make_console(stderr=True).print("no retention policies: everything is kept", style="dim")
        return
    table = make_table("what", "days", "last", "updated", "by")
    for policy in policies:
        table.add_row(
            Text(_what(policy)),
            "-" if policy.keep_days is None else f"{policy.keep_days:,}",
            "-" if policy.keep_last is None else f"{policy.keep_last:,}",
            local_time(policy.updated_at),
            Text(policy.updated_by or "-"),
        )
    make_console().print(table)


def set_(
    ctx: typer.Context,
    target: TargetArgument = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days", metavar="N", min=1, max=36_500, help="Delete what is older than N days"
        ),
    ] = None,
    last: Annotated[
        int | None,
        typer.Option(
            "--last",
            metavar="N",
            min=1,
            help="Executions: keep only the newest N of each function",
        ),
    ] = None,
    keep_all: Annotated[
        bool,
        typer.Option(
            "--keep-all", help="Executions: keep everything (exempts TARGET from a wider policy)"
        ),
    ] = False,
    deliveries: DeliveriesOption = False,
    audit: AuditOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Set how long executions (with their steps), webhook deliveries or audit entries are
    kept (admin; audited). Both limits apply: an execution goes when it is older than --days
    or not among the newest --last of its function. A function's policy replaces its
    namespace's, which replaces the one of *. Running and queued executions, and those a
    pending replay names, are never pruned. The audit log must be kept longest.
    """
    kind = _kind(deliveries, audit)
    if keep_all and (days is not None or last is not None):
        raise typer.BadParameter("--keep-all takes no --days or --last", param_hint="--keep-all")
    if not keep_all and days is None and last is None:
        raise typer.BadParameter("give --days, --last or --keep-all", param_hint="--days")
    with open_backend(ctx, database, server) as backend:
        policy = backend.set_retention(kind, target, days, last)
    make_console().print(Text(f"{_what(policy)}: {describe(policy)}"), soft_wrap=True)


def unset(
    ctx: typer.Context,
    target: TargetArgument = None,
    deliveries: DeliveriesOption = False,
    audit: AuditOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Remove a retention policy (admin; audited): the next wider one applies, or none."""
    kind = _kind(deliveries, audit)
    with open_backend(ctx, database, server) as backend:
        policy = backend.remove_retention(kind, target)
    make_console().print(Text(f"{_what(policy)}: policy removed"), soft_wrap=True)


def prune(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would go; delete nothing")
    ] = False,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Delete now what the retention policies let go (admin; audited), in the small batches
    `runtree serve` uses every few minutes, or only say what would go, per function."""
    with open_backend(ctx, database, server) as backend:
        report = backend.prune(dry_run)
    if as_json:
        echo_json(report)
        return
    verb = "would prune" if dry_run else "pruned"
    functions = report["functions"]
    if functions:
        columns = ["function", "policy", "executions", "steps"]
        table = make_table(*columns, *(["payload"] if dry_run else []))
        for entry in functions:
            cells: list[str | Text] = [
                Text(f"{entry['namespace']}/{entry['function']}"),
                Text(entry["policy"]),
                f"{entry['executions']:,}",
                f"{entry['steps']:,}",
            ]
            if dry_run:
                cells.append(size(entry["payload_bytes"]))
            table.add_row(*cells)
        make_console().print(table)
    totals = report["totals"]
    line = f"{verb} {totals['executions']:,} execution(s) ({totals['steps']:,} steps"
    if dry_run:
        line += f", {size(totals['payload_bytes'])} of payloads"
    line += f"), {report['deliveries']['count']:,} webhook delivery(ies)"
    if dry_run and report["deliveries"]["count"]:
        line += f" ({size(report['deliveries']['body_bytes'])})"
    line += f", {report['audit']['count']:,} audit entry(ies)"
    if report["reclaimed_bytes"]:
        line += f"; {size(report['reclaimed_bytes'])} given back to the file system"
    make_console().print(Text(line), soft_wrap=True)


def storage(
    ctx: typer.Context,
    vacuum: Annotated[
        bool,
        typer.Option(
            "--vacuum",
            help="SQLite, on the database directly: rebuild the file first (VACUUM), which "
            "gives every free page back and turns on incremental vacuum in a database "
            "created without it; holds the write lock while it runs",
        ),
    ] = False,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Sizes per namespace and function (admin): executions, steps, payload bytes (the stored
    serialized values and recordings of the outside world) and the retention policy that
    applies; deliveries, audit entries, and the database's size."""
    with open_backend(ctx, database, server) as backend:
        if vacuum:
            if backend.remote:
                raise CliError("--vacuum works on the database directly, not through a server")
            document = backend.vacuum()  # type: ignore[attr-defined]
        else:
            document = backend.storage()
    if as_json:
        echo_json(document)
        return
    _print_storage(document)


def _print_storage(document: dict[str, Any]) -> None:
    console = make_console()
    table = make_table("namespace / function", "executions", "steps", "payload", "retention")
    for namespace in document["namespaces"]:
        table.add_row(
            Text(namespace["namespace"], style="bold"),
            f"{namespace['executions']:,}",
            f"{namespace['steps']:,}",
            size(namespace["payload_bytes"]),
            "",
        )
        for entry in namespace["functions"]:
            table.add_row(
                Text(f"  {entry['function']}"),
                f"{entry['executions']:,}",
                f"{entry['steps']:,}",
                size(entry["payload_bytes"]),
                Text(_retention(entry)),
            )
    if document["namespaces"]:
        console.print(table)
    deliveries, audit, db = document["deliveries"], document["audit"], document["database"]
    lines = [
        f"webhook deliveries  {deliveries['count']:,} ({size(deliveries['body_bytes'])}), "
        + _days(deliveries["keep_days"]),
        f"audit entries       {audit['count']:,}, " + _days(audit["keep_days"]),
        f"database            {db['backend']}, {size(db['size_bytes'])}"
        + (
            f" ({size(db['free_bytes'])} free), auto_vacuum {db['auto_vacuum']}"
            if db["free_bytes"] is not None
            else ""
        ),
    ]
    for line in lines:
        console.print(Text(line), soft_wrap=True)
    if db["auto_vacuum"] == "none":
        make_console(stderr=True).print(
            Text(
                "this SQLite database was created without incremental vacuum: pruned space is "
                "reused but never given back to the file system; `runtree storage --vacuum` "
                "rebuilds it once (best with the server stopped)",
                style="dim",
            ),
            soft_wrap=True,
        )


def _retention(entry: dict[str, Any]) -> str:
    if entry["policy"] is None:
        return "kept forever (no policy)"
    limits = []
    if entry["keep_days"] is not None:
        limits.append(f"{entry['keep_days']:,} days")
    if entry["keep_last"] is not None:
        limits.append(f"last {entry['keep_last']:,}")
    return f"{', '.join(limits) or 'kept forever'} ({entry['policy']})"


def _days(days: int | None) -> str:
    return "kept forever (no policy)" if days is None else f"kept {days:,} days"
