"""``runtree doctor``: which protections of the sandbox are on here, and why the others are
off (the same probe ``runtree serve`` runs when it starts), and which tracking runtime (the C
accelerator or the pure-Python hooks) runs here and in the sandbox's Python."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from .database import DatabaseOption, database_url
from .errors import EXIT_FAILED
from .output import make_console, to_json

if TYPE_CHECKING:
    from ..service import sandbox as sandbox_service


def doctor(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    database: DatabaseOption = None,
) -> None:
    """Probe the sandbox user code runs in and report every layer: on, or off and why.

    Exits 0 when every always-on (tier 0) protection works here, 1 otherwise -- also when the
    sandbox is switched off with RUNTREE_SANDBOX=off.
    """
    from ..service import sandbox as sandbox_service
    from ..settings import Settings

    settings = Settings.load(database_url=database_url(ctx, database), host="127.0.0.1")
    sandbox = sandbox_service.probe_sandbox(settings)
    report = sandbox.report
    tracking = tracking_runtimes(sandbox.python)
    if json_output:
        make_console().print(
            Text(to_json({**report.to_dict(), "tracking": tracking})), soft_wrap=True
        )
    else:
        _print(report, sandbox.config.state_dir)
        console = make_console()
        console.print()
        console.print(Text("Tracking runtime (the hooks instrumented code calls)", style="bold"))
        for where, found in tracking.items():
            style = "green" if found.get("runtime") == "c" else "yellow"
            line = Text(f"  {where.ljust(12)} ")
            line.append(str(found.get("detail")), style=style)
            console.print(line, soft_wrap=True)
    if not report.tier0:
        raise typer.Exit(EXIT_FAILED)


def tracking_runtimes(python: str | None = None) -> dict[str, dict[str, Any]]:
    """The tracking runtime of this process and of ``python``, the one that runs user code
    (default: the runtime's default Python)."""
    from ..execution.sandbox.interpreter import python_command, runtime_python
    from ..tracking import accelerator

    found: dict[str, dict[str, Any]] = {"this process": accelerator.describe()}
    python = python or runtime_python()
    try:
        done = subprocess.run(
            python_command(python, "runtree.tracking.accelerator"),
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": os.defpath},
            check=False,
        )
        found["workers"] = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
        found["workers"] = {"runtime": "?", "detail": f"could not ask {python}: {error}"}
    return found


def _print(report: sandbox_service.SandboxReport, state_dir: str) -> None:
    console = make_console()
    if not report.enabled:
        console.print(
            Text(
                "SANDBOX OFF (RUNTREE_SANDBOX=off or --insecure-no-sandbox): functions run "
                f"unconfined as uid {os.geteuid()}, with everything the server can read, "
                "write, connect to and kill. Local development on a loopback address only.",
                style="bold red",
            ),
            soft_wrap=True,
        )
        return
    console.print(Text("runtree doctor: the sandbox functions run in", style="bold"))
    console.print(
        Text(f"  python      {report.python} (Python {report.python_version})"), soft_wrap=True
    )
    if report.uid_separation:
        console.print(Text(f"  slot uids   {report.uid_range}"), soft_wrap=True)
        console.print(
            Text(f"  state       {state_dir} (work directories, uid locks)"), soft_wrap=True
        )
    else:
        console.print(
            Text(f"  uid         {os.getuid()}, yours: not root, no slot uids"), soft_wrap=True
        )
        console.print(
            Text("  state       a temporary directory per server or CLI run (work directories)"),
            soft_wrap=True,
        )
    width = max((len(layer.name) for layer in report.layers), default=8)
    from ..service import sandbox as sandbox_service

    for tier, title in sandbox_service.TIER_TITLES.items():
        console.print()
        console.print(Text(title, style="bold"))
        for layer in report.layers:
            if layer.tier != tier:
                continue
            line = Text("  ")
            required = tier == 0 and layer.required
            line.append(
                "on " if layer.active else "OFF" if required else "off",
                style="green" if layer.active else "bold red" if required else "yellow",
            )
            line.append(f"  {layer.name.ljust(width)}  {layer.detail}")
            console.print(line, soft_wrap=True)
    console.print()
    style = "green" if report.tier0 else "bold red"
    console.print(Text(report.summary, style=style), soft_wrap=True)
