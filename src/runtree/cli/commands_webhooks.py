"""``runtree webhooks ...``: create, list and delete webhooks, read the deliveries received
on their paths, and run a delivery's request again."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from ..models import DeliveryRecord, ExecutionStatus, WebhookRecord
from .backend import ServerOption, open_backend
from .commands_run import run_locally
from .database import DatabaseOption
from .errors import EXIT_FAILED, CliError
from .names import parse_function
from .output import echo_json, execution_document, make_console, record_json
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
VERIFY = ("none", "github", "stripe", "slack", "hmac-sha256")


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
