"""Where a command's data lives: a database opened here (:class:`LocalBackend`) or a runtree
server reached over HTTP (:class:`runtree.client.RemoteClient`, with ``--server URL`` or
``RUNTREE_URL``). Both offer the same methods and return the same records, so every command
prints the same output either way.

Locally the CLI acts as an admin (:meth:`runtree.service.Principal.local`): whoever can open
the database can change anything in it anyway. Remotely the server decides, by the API key:
``RUNTREE_API_KEY``; else, for a server on this machine (a loopback URL), the admin key file
``runtree serve`` wrote for the database this command would use (``runtree.db.admin-key``
next to ``runtree.db``; ``RUNTREE_ADMIN_KEY_FILE`` names another).

The protocol is :mod:`runtree.cli.backend_protocol`, the database's side
:mod:`runtree.cli.backend_local`; this module picks one for a command (:func:`open_backend`).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from .. import service  # a lazy package: its parts are imported when a command uses them
from .backend_local import LocalBackend
from .database import GlobalOptions, database_url, open_store
from .errors import CliError

if TYPE_CHECKING:
    # the submodule used as service.access (the package imports it when first read)
    import runtree.service.access  # noqa: F401

    from .backend_protocol import Backend, ExecutionReader

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="A runtree server to talk to instead of a database [default: $RUNTREE_URL]",
        show_default=False,
    ),
]


def server_url(ctx: typer.Context, option: str | None) -> str | None:
    """``--server`` on the command, then ``runtree --server``, then ``RUNTREE_URL``."""
    if option is None:
        root = ctx.find_root().obj
        if isinstance(root, GlobalOptions):
            option = root.server
    from ..environment import environment_value

    url = option or environment_value("RUNTREE_URL")
    if url is None:
        return None
    parsed = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise CliError(f"invalid server URL {url!r}: expected http://HOST:PORT")
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))


def api_key_for(url: str, ctx: typer.Context, database: str | None) -> str | None:
    """``RUNTREE_API_KEY``; else, for a loopback server, the admin key file of the database
    this command would use (see the module docstring); else none."""
    from ..environment import environment_value
    from ..settings import Settings, is_loopback

    key: str | None = environment_value("RUNTREE_API_KEY")
    if key:
        return key
    host = urllib.parse.urlsplit(url).hostname or ""
    if not is_loopback(host):
        return None
    settings = Settings.load(database_url=database_url(ctx, database))
    return service.access.read_key_file(settings.admin_key_path)


@contextlib.contextmanager
def open_sqlite_reader(
    ctx: typer.Context, database: str | None, server: str | None
) -> Iterator[ExecutionReader | None]:
    """For a command on a local SQLite database that a store would open as it is, a reader
    of it without SQLAlchemy (:mod:`runtree.store.sqlite_reader`: importing SQLAlchemy
    costs more than the rest of ``runtree show``); ``None`` otherwise (use
    :func:`open_backend`)."""
    if server_url(ctx, server) is not None:
        yield None
        return
    from ..store.sqlite_reader import open_reader

    reader = open_reader(database_url(ctx, database))
    if reader is None:
        yield None
        return
    try:
        yield reader
    finally:
        reader.close()


@contextlib.contextmanager
def open_backend(ctx: typer.Context, database: str | None, server: str | None) -> Iterator[Backend]:
    """The server named by ``--server``/``RUNTREE_URL``, else the database."""
    url = server_url(ctx, server)
    if url is None:
        url = database_url(ctx, database)
        with open_store(url) as store:
            yield LocalBackend(store, database_url=url)
        return
    root = ctx.find_root().obj
    if database is not None or (isinstance(root, GlobalOptions) and root.database is not None):
        raise CliError(
            "--database and --server cannot be combined: the server has its own database"
        )
    from ..client import RemoteClient

    client = RemoteClient(url, api_key_for(url, ctx, database))
    try:
        yield client
    finally:
        client.close()
