"""``runtree worker`` (run executions from the PostgreSQL queue) and ``runtree workers``
(the workers and queues of a database)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.text import Text

from .database import DatabaseOption, database_url, display_url, open_store
from .errors import CliError
from .log_messages import Messages, check_log_format, configure_logging
from .output import make_console


def worker(
    ctx: typer.Context,
    slots: Annotated[
        int | None,
        typer.Option(
            "--slots",
            "-s",
            metavar="N",
            min=1,
            max=256,
            help="Executions run at once, 1 to 256 [default: the number of CPUs]",
        ),
    ] = None,
    queue: Annotated[
        list[str] | None,
        typer.Option(
            "--queue",
            "-q",
            metavar="NAME",
            help="Take executions from this queue (repeat for several) [default: default]",
        ),
    ] = None,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            metavar="S",
            min=0,
            help="On SIGTERM or Ctrl-C, how long running executions may finish before they "
            "are stopped and handed back to the queue",
        ),
    ] = 30.0,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            metavar="FORMAT",
            help="The log on stderr: text, or json (one JSON object per line: the worker's "
            "own lines, executions started and finished, warnings) [default: "
            "$RUNTREE_LOG_FORMAT, else text]",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Run executions from the PostgreSQL queue: one of any number of workers, on any
    machine that reaches the database.

    Each worker has its own sandbox slots (never sharing a slot uid with another worker on
    the same host). A worker that dies is noticed by its missed heartbeats: its executions
    end crashed ("worker lost"), or run again when the function was deployed with
    --retries. It also fires due schedules (each fire time once, however many workers and
    servers tick). SIGTERM stops it gracefully (see --grace).
    """
    from .. import service
    from ..errors import QueueUnavailable
    from ..service.worker import start_worker
    from ..settings import Settings

    check_log_format(log_format)
    url = database_url(ctx, database)
    settings = Settings.load(database_url=url, workers=slots, log_format=log_format)
    configure_logging(settings.log_format)  # JSON from the first line on
    messages = Messages(settings.log_format, "runtree.worker")
    queues = list(dict.fromkeys(queue or ["default"]))
    try:
        started = start_worker(settings, slots=settings.workers or 1, queues=queues)
    except QueueUnavailable as error:
        raise CliError(str(error)) from None
    except service.SandboxUnavailable as error:
        raise CliError(str(error)) from None
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    noun = "slot" if settings.workers == 1 else "slots"
    messages.say(
        f"runtree worker {started.worker_id} on {display_url(url)}: {settings.workers} "
        f"{noun}, queues {', '.join(queues)}",
        stderr=True,
        worker_id=started.worker_id,
        slots=settings.workers,
        queues=queues,
    )
    try:
        while not stop.wait(1.0):
            pass
        messages.say(
            f"stopping: running executions have {grace:g}s to finish", stderr=True, style="dim"
        )
    finally:
        started.stop(grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    messages.say("runtree worker stopped", stderr=True, style="dim")


def workers(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    database: DatabaseOption = None,
) -> None:
    """List the workers (live or lost, their slots and what each runs) and the depth of
    each queue."""
    import json

    from ..service.workers import workers_overview
    from ..settings import Settings

    settings = Settings.load(database_url=database_url(ctx, database))
    with open_store(settings.database_url) as store:
        overview = workers_overview(store, None, heartbeat_s=settings.heartbeat_s)
    found, depths = overview.workers, overview.queues
    console = make_console()
    if json_:
        document = {
            "workers": [
                {
                    "id": w.id,
                    "kind": w.kind,
                    "host": w.host,
                    "pid": w.pid,
                    "slots": w.slots,
                    "queues": w.queues,
                    "state": _state(w.live, w.stopping),
                    "started_at": w.started_at.isoformat(),
                    "heartbeat_at": w.heartbeat_at.isoformat(),
                    "running": w.running,
                }
                for w in found
            ],
            "queues": [
                {"queue": d.queue, "waiting": d.waiting, "running": d.running} for d in depths
            ],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    if not found:
        console.print("no workers")
    for w in found:
        console.print(
            Text(
                f"{w.id}  {_state(w.live, w.stopping)}  {len(w.running)}/{w.slots} slots busy  "
                f"queues {','.join(w.queues)}  heartbeat {w.heartbeat_at:%H:%M:%S}"
            ),
            soft_wrap=True,
        )
        for execution_id in w.running:
            console.print(Text(f"    running {execution_id}"), soft_wrap=True)
    for d in depths:
        console.print(Text(f"queue {d.queue}: {d.waiting} waiting, {d.running} running"))


def _state(live: bool, stopping: bool) -> str:
    if not live:
        return "lost"
    return "stopping" if stopping else "live"


__all__ = ["CliError", "worker", "workers"]
