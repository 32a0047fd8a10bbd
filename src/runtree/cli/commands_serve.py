"""``runtree serve``: the HTTP API and web UI (``runtree.api.app.create_app``) on uvicorn.

The app's lifespan owns the dispatcher, so Ctrl-C (or SIGTERM) lets uvicorn shut down
gracefully: running executions get their grace period, then the command exits 0.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from ..settings import Settings
from .database import DatabaseOption, database_url, display_url, open_store
from .errors import CliError
from .output import make_console

if TYPE_CHECKING:
    import uvicorn


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _make_server(config: uvicorn.Config, describe: Callable[[str], str]) -> uvicorn.Server:
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
            make_console().print(Text(describe(_url(self.config.host, bound))), soft_wrap=True)

    return Server(config)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Interface [127.0.0.1]")] = None,
    port: Annotated[
        int | None, typer.Option("--port", "-p", min=0, max=65535, help="Port [8000]")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", min=1, max=256, help="Executions run at once [CPUs]"),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Serve the HTTP API and the web UI, and run queued executions."""
    url = database_url(ctx, database)
    settings = Settings.load(database_url=url, host=host, port=port, workers=workers)
    with open_store(settings.database_url):
        pass  # a bad URL or an unreadable database: a one-line error now, not a traceback later
    try:
        import uvicorn

        from ..api.app import create_app
    except ImportError as error:
        raise CliError(f"the HTTP server is not available: {error}") from None
    app = create_app(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info")
    noun = "worker" if settings.workers == 1 else "workers"
    shown_database = display_url(settings.database_url)
    server = _make_server(
        config,
        lambda url: (
            f"runtree listening on {url} (database {shown_database}, {settings.workers} {noun})"
        ),
    )
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, once it has stopped
        pass
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            raise CliError("the server could not start (see the log above)") from None
    make_console(stderr=True).print("runtree stopped", style="dim")
