"""``runtree serve``: the HTTP API and web UI (``runtree.api.app.create_app``) on uvicorn.

The app's lifespan owns the dispatcher, so Ctrl-C (or SIGTERM) lets uvicorn shut down
gracefully: running executions get their grace period, then the command exits 0.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from .. import service  # a lazy package
from ..defaults import DEFAULT_HOST, DEFAULT_PORT
from .database import DatabaseOption, database_url, display_url, open_store
from .errors import CliError
from .log_messages import Messages, check_log_format, configure_logging
from .output import make_console

if TYPE_CHECKING:
    import uvicorn


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _make_server(config: uvicorn.Config, announce: Callable[[str], None]) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, announcing where runtree listens once the socket is bound (so
        ``--port 0`` shows the port it got)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            bound = self.config.port
            for server in getattr(self, "servers", []):
                for sock in server.sockets or ():
                    bound = int(sock.getsockname()[1])
                    break
            announce(_url(self.config.host, bound))

    return Server(config)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            metavar="HOST",
            help=f"Interface to listen on [default: {DEFAULT_HOST}]",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            "-p",
            metavar="PORT",
            min=0,
            max=65535,
            help=f"Port [default: {DEFAULT_PORT}]",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            metavar="N",
            min=0,
            max=256,
            help="Executions run at once, 0 to 256; 0 (PostgreSQL only): serve the API and "
            "let `runtree worker` processes run them [default: the number of CPUs]",
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="No API keys: anyone who can connect is admin (local development only; "
            "refused unless --host is a loopback address)",
        ),
    ] = False,
    insecure_no_sandbox: Annotated[
        bool,
        typer.Option(
            "--insecure-no-sandbox",
            help="Run functions WITHOUT the sandbox, unconfined as the server's user (local "
            "development only; refused unless --host is a loopback address; also "
            "RUNTREE_SANDBOX=off)",
        ),
    ] = False,
    metrics_public: Annotated[
        bool,
        typer.Option(
            "--metrics-public",
            help="Serve GET /metrics without an API key (also RUNTREE_METRICS_PUBLIC=on)",
        ),
    ] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            metavar="FORMAT",
            help="The log on stderr: text, or json (one JSON object per line: requests "
            "with their X-Request-ID, executions, uvicorn's own lines) [default: "
            "$RUNTREE_LOG_FORMAT, else text]",
            show_default=False,
        ),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Serve the HTTP API and the web UI, run queued executions and fire schedules.

    Functions run in a sandbox (see `runtree doctor`); the server refuses to start when its
    always-on protections cannot be applied here.

    Every /api/v1 call needs an API key (Authorization: Bearer KEY). The first start on a
    database creates an admin key, prints it once and saves it to a file only you can read
    (next to a SQLite database: runtree.db.admin-key; else ~/.config/runtree/admin-key;
    RUNTREE_ADMIN_KEY_FILE chooses another).
    """
    url = database_url(ctx, database)
    from ..settings import Settings, is_loopback

    if no_auth and not is_loopback(host or Settings.load().host):
        raise CliError(
            f"--no-auth serves without access control, so it binds to a loopback address "
            f"only (127.0.0.1, ::1, localhost), not {host!r}"
        )
    if insecure_no_sandbox and not is_loopback(host or Settings.load().host):
        raise CliError(
            f"--insecure-no-sandbox runs functions unconfined, so it binds to a loopback "
            f"address only (127.0.0.1, ::1, localhost), not {host!r}"
        )
    check_log_format(log_format)
    settings = Settings.load(
        database_url=url,
        host=host,
        port=port,
        workers=workers,
        auth=False if no_auth else None,
        sandbox=False if insecure_no_sandbox else None,
        metrics_public=True if metrics_public else None,
        log_format=log_format,
    )
    if settings.workers == 0 and settings.database_url.startswith("sqlite"):
        raise CliError(
            "--workers 0 needs a PostgreSQL database: with SQLite the server runs the "
            "executions itself"
        )
    # JSON from the first line on, ours before uvicorn's
    log_config = configure_logging(settings.log_format)
    messages = Messages(settings.log_format, "runtree.serve")
    console = make_console()
    sandbox = service.probe_sandbox(settings)
    if sandbox.enabled and not sandbox.report.tier0:
        raise CliError(str(service.SandboxUnavailable(sandbox.report)))
    # The start-up log (stderr, with uvicorn's): which protections are on (`runtree doctor`).
    messages.say(sandbox.report.summary, warning=not sandbox.report.tier0, stderr=True)
    # A bad URL or an unreadable database: a one-line error now, not a traceback later.
    with open_store(settings.database_url) as store:
        store.check_secret_key()  # a missing or wrong key: a clear error before serving
        if settings.auth:
            key_file = settings.admin_key_path
            try:
                key = service.access.bootstrap_admin_key(store, key_file)
            except OSError as error:
                raise CliError(f"cannot write the admin key to {key_file}: {error}") from None
            if key is not None:
                console.print(
                    Text(
                        f"created the first admin key (shown once; saved to {key_file}, "
                        "readable by you only):"
                    ),
                    soft_wrap=True,
                )
                console.print(Text(f"  {key}", style="bold"), soft_wrap=True)
    try:
        import uvicorn

        from ..api.app import create_app
    except ImportError as error:
        raise CliError(f"the HTTP server is not available: {error}") from None
    app = create_app(settings)
    extra: dict[str, Any] = {}
    if log_config is not None:
        extra = {"log_config": log_config, "access_log": False}  # runtree.access instead
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info", **extra)
    noun = "worker" if settings.workers == 1 else "workers"
    shown_database = display_url(settings.database_url)
    access_note = "" if settings.auth else "; --no-auth: no access control"
    if not settings.sandbox:
        access_note += "; SANDBOX OFF: functions run unconfined"

    def announce(url: str) -> None:
        messages.say(
            f"runtree listening on {url} (database {shown_database}, {settings.workers} {noun}"
            f"{access_note})",
            url=url,
        )

    server = _make_server(config, announce)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, once it has stopped
        pass
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            raise CliError("the server could not start (see the log above)") from None
    if messages.json:
        messages.say("runtree stopped")
    else:
        make_console(stderr=True).print("runtree stopped", style="dim")
