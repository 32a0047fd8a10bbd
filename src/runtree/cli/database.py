"""Which database a command uses, and opening it.

``--database`` on the command wins, then ``runtree --database`` before the command, then
``RUNTREE_DATABASE_URL``, then ``sqlite:///runtree.db`` in the working directory (the last two
are :class:`~runtree.settings.Settings`' own, read without it).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from ..defaults import DEFAULT_DATABASE_URL
from ..errors import StoreError
from .errors import CliError, database_problem

if TYPE_CHECKING:  # imported where used (SQLAlchemy is slow to import; --help needs none)
    from ..store import Store

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database",
        metavar="URL",
        help=f"Database URL [default: $RUNTREE_DATABASE_URL, else {DEFAULT_DATABASE_URL}]",
        show_default=False,
    ),
]


@dataclasses.dataclass
class GlobalOptions:
    """What ``runtree [OPTIONS] COMMAND`` received before the command."""

    database: str | None = None
    server: str | None = None


def database_url(ctx: typer.Context, option: str | None) -> str:
    """The database URL for this command (see the module docstring for the order)."""
    if option is None:
        root = ctx.find_root().obj
        if isinstance(root, GlobalOptions):
            option = root.database
    if option is not None:
        return option
    # The variable alone, not the whole Settings: reading it needs no pydantic.
    from ..environment import environment_value

    url: str | None = environment_value("RUNTREE_DATABASE_URL")
    return url or DEFAULT_DATABASE_URL


def display_url(url: str) -> str:
    """``url`` with any password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


@contextlib.contextmanager
def open_store(url: str) -> Iterator[Store]:
    """Open (and migrate) the store at ``url``; a one-line error when that is impossible."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..store import Store

    try:
        store = Store(url)
    except StoreError as error:
        raise CliError(f"cannot use database {display_url(url)}: {error}") from None
    except SQLAlchemyError as error:
        raise CliError(
            f"cannot open database {display_url(url)}: {database_problem(error)}"
        ) from None
    except ImportError as error:  # a database driver that is not installed
        raise CliError(f"cannot open database {display_url(url)}: {error}") from None
    try:
        yield store
    finally:
        store.close()
