"""``runtree keys create|list|revoke`` and ``runtree audit``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from ..models import ApiKeyRecord, AuditRecord
from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .output import compact_json_text, echo_json, make_console, record_json
from .tables import make_table
from .views import local_time

ROLES = ("admin", "developer", "runner", "viewer")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def key_json(record: ApiKeyRecord) -> dict[str, Any]:
    return record_json(record, drop=("id",))


def create(
    ctx: typer.Context,
    role: Annotated[
        str,
        typer.Option(
            "--role",
            "-r",
            metavar="ROLE",
            help="admin, developer, runner or viewer",
        ),
    ],
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            metavar="NS",
            help="Only this namespace (not for admin)",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="TEXT",
            help="A label for people",
        ),
    ] = None,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Create an API key. It is printed once (on stdout) and stored only as a hash.

    viewer reads; runner also starts, cancels and replays executions; developer also deploys
    and manages webhooks and schedules; admin also manages keys and reads the audit log.
    """
    if role not in ROLES:
        raise typer.BadParameter(f"must be one of {', '.join(ROLES)}", param_hint="--role")
    with open_backend(ctx, database, server) as backend:
        key, record = backend.create_key(role, namespace, name)
    if as_json:
        echo_json({**key_json(record), "key": key})
        return
    typer.echo(key)
    scope = f"namespace {record.namespace}" if record.namespace else "every namespace"
    make_console(stderr=True).print(
        Text(
            f"created {record.role} key {record.prefix} ({scope}); this is the only time "
            "it is shown: store it now",
            style="dim",
        ),
        soft_wrap=True,
    )


def list_(
    ctx: typer.Context,
    include_revoked: Annotated[bool, typer.Option("--all", help="Revoked keys too")] = False,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """List API keys (their prefixes: the keys themselves are not stored)."""
    with open_backend(ctx, database, server) as backend:
        found = backend.list_keys(include_revoked)
    if as_json:
        echo_json([key_json(record) for record in found])
        return
    if not found:
        make_console(stderr=True).print("no keys", style="dim")
        return
    table = make_table("prefix", "role", "namespace", "name", "created", "by", "revoked")
    for record in found:
        table.add_row(
            record.prefix,
            str(record.role),
            record.namespace or "*",
            Text(record.name or "-"),
            local_time(record.created_at),
            Text(record.created_by or "-"),
            local_time(record.revoked_at) if record.revoked_at else "-",
        )
    make_console().print(table)


def revoke(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Argument(metavar="PREFIX", help="The key's prefix (rtk_...)")],
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Revoke an API key: it stops working at once."""
    with open_backend(ctx, database, server) as backend:
        record = backend.revoke_key(prefix)
    make_console().print(Text(f"revoked key {record.prefix} ({record.role})"), soft_wrap=True)


def audit_json(record: AuditRecord) -> dict[str, Any]:
    return record_json(record)


def audit(
    ctx: typer.Context,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", metavar="NS", help="Only this namespace")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option(
            "--action",
            "-a",
            metavar="ACTION",
            help="Only this action (key.create ...)",
        ),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            "-l",
            metavar="N",
            min=1,
            max=1000,
            help="At most N (1 to 1000)",
        ),
    ] = 50,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """The audit log, newest first: who deployed, ran, cancelled, replayed; key, webhook and
    schedule changes."""
    with open_backend(ctx, database, server) as backend:
        entries, _ = backend.list_audit(namespace=namespace, action=action, limit=limit)
    if as_json:
        echo_json([audit_json(entry) for entry in entries])
        return
    if not entries:
        make_console(stderr=True).print("no audit entries", style="dim")
        return
    table = make_table(
        "when",
        "actor",
        "action",
        "target",
        "details",
        min_widths={"when": 19, "action": 16, "target": 24},
    )
    for entry in entries:
        table.add_row(
            local_time(entry.at),
            Text(entry.actor),
            entry.action,
            Text(entry.target),
            compact_json_text(entry.details) if entry.details else "",
        )
    make_console().print(table)
