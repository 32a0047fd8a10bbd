"""``runtree secrets rotate|status|generate-key``: the key that encrypts secrets at rest.

These work on the database and its key source directly (the key never travels over HTTP), so
they run on the server's machine, without ``--server``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.text import Text

from .database import DatabaseOption, GlobalOptions, database_url, open_store
from .errors import CliError
from .output import make_console


def _local_url(ctx: typer.Context, database: str | None) -> str:
    root = ctx.find_root().obj
    if isinstance(root, GlobalOptions) and root.server is not None:
        raise CliError(
            "runtree secrets works on the database and its key, not through a server: run it "
            "on the server's machine without --server"
        )
    return database_url(ctx, database)


def rotate(
    ctx: typer.Context,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            metavar="N",
            min=1,
            max=100_000,
            help="Values re-encrypted per transaction",
        ),
    ] = 200,
    database: DatabaseOption = None,
) -> None:
    """Re-encrypt every stored secret under a new key.

    With a key file (the default: runtree.db.secret-key next to a SQLite database), a new key
    is generated and written in front of the old one; once every webhook secret and secret
    input is re-encrypted, the old key is removed from the file. With RUNTREE_SECRET_KEY, put
    the new key first yourself (RUNTREE_SECRET_KEY=NEW,OLD), restart the servers, run this,
    then drop OLD. Servers may keep running. If it is interrupted, run it again: it resumes
    with the same new key.
    """
    url = _local_url(ctx, database)
    console = make_console()
    with open_store(url) as store:
        source = store.keyring.source.description

        def progress(field: str, count: int) -> None:
            make_console(stderr=True).print(Text(f"  {field}: {count} re-encrypted"), style="dim")

        report = store.rotate_secret_key(batch_size=batch_size, progress=progress)
    total = sum(report.resealed.values())
    replaced = ", ".join(report.replaced) or "none"
    console.print(
        Text(
            f"secrets now sealed with key {report.key_id} "
            f"({'generated, ' if report.generated else ''}in {source}); "
            f"{total} value(s) re-encrypted; replaced key(s): {replaced}"
        ),
        soft_wrap=True,
    )
    if report.old_keys_remain:
        console.print(
            Text(
                f"no stored value needs key(s) {replaced} any more: remove them from "
                "RUNTREE_SECRET_KEY"
            ),
            soft_wrap=True,
        )


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    database: DatabaseOption = None,
) -> None:
    """Where the key comes from, which key seals new secrets and what each key seals.

    Fails (exit 2) when this process could not open the stored secrets: the key is missing,
    unreadable, too widely readable or not the one they were sealed with.
    """
    url = _local_url(ctx, database)
    with open_store(url) as store:
        active = store.check_secret_key()
        keys = [key.key_id for key in store.keyring.source.master_keys()]
        counts = store.sealed_counts()
        source = store.keyring.source.description
    if as_json:
        typer.echo(json.dumps({"source": source, "keys": keys, "active": active, "sealed": counts}))
        return
    console = make_console()
    console.print(Text(f"key source  {source}"), soft_wrap=True)
    console.print(Text(f"keys        {', '.join(keys)} (newest first)"), soft_wrap=True)
    console.print(Text(f"active      {active or 'none yet (nothing sealed)'}"), soft_wrap=True)
    for key_id, fields in sorted(counts.items()):
        sealed = ", ".join(f"{field} {count}" for field, count in sorted(fields.items()))
        console.print(Text(f"sealed with {key_id}: {sealed}"), soft_wrap=True)


def generate_key() -> None:
    """Print a new random key (32 bytes, base64) for RUNTREE_SECRET_KEY."""
    from ..store.master_key import generate_key as new_key

    typer.echo(new_key())
