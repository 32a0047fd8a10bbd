"""Turning errors into one-line messages and exit codes (never a traceback for user errors).

Exit codes (docs/design.md): 0 success, 1 the function failed, 2 usage or input error. An
interrupted command (Ctrl-C) exits 130, as shells expect.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer

from ..errors import CliError, InputError, RuntreeError, Unauthenticated

if TYPE_CHECKING:
    from sqlalchemy.exc import SQLAlchemyError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "CliError", "handle_errors"]


def report(message: str, details: Sequence[str] = ()) -> None:
    """Print ``error: message`` and its detail lines on stderr."""
    from rich.text import Text  # imported when there is an error to print

    from .output import make_console

    console = make_console(stderr=True)
    line = Text("error: ", style="bold red")
    line.append(message)
    console.print(line, soft_wrap=True)
    for detail in details:
        console.print(Text(detail), soft_wrap=True)


def input_problems(error: InputError) -> list[str]:
    """One ``  parameter: message`` line per problem."""
    return [f"  {problem.parameter}: {problem.message}" for problem in error.problems]


def database_problem(error: SQLAlchemyError) -> str:
    """The driver's own message (the first line), without SQLAlchemy's SQL dump."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: expected errors become a message on stderr and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as error:
            report(error.message, error.details)
            raise typer.Exit(error.exit_code) from None
        except InputError as error:
            report("invalid input", input_problems(error))
            raise typer.Exit(EXIT_USAGE) from None
        except Unauthenticated as error:
            report(
                str(error),
                [
                    "  set RUNTREE_API_KEY to an API key of this server "
                    "(`runtree keys create` makes one)"
                ],
            )
            raise typer.Exit(EXIT_USAGE) from None
        except RuntreeError as error:  # not found, invalid name or settings, store errors
            report(str(error))
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            report("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as error:
            if not _reported_library_error(error):
                raise
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper


def _reported_library_error(error: Exception) -> bool:
    """Report pydantic's and SQLAlchemy's errors. They are looked up only when that library
    was imported (an error cannot come from a library never imported), so that commands
    which need neither do not pay for importing them."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(error, pydantic.ValidationError):
        # Settings from options and RUNTREE_* variables
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        report(f"invalid setting {field}: {first['msg']} (options or RUNTREE_* variables)")
        return True
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(error, sqlalchemy_exc.SQLAlchemyError):
        report(f"database error: {database_problem(error)}")
        return True
    return False
