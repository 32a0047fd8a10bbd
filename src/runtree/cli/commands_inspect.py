"""Reading what happened: ``show``, ``tree``, ``executions``, ``functions``, ``versions``,
``diff``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from ..models import ExecutionRecord, ExecutionStatus, StepRecord
from ..store import NotFoundError
from .backend import ServerOption, open_backend, open_sqlite_reader
from .backend_protocol import Backend
from .database import DatabaseOption
from .names import ID_LENGTH, normalize_id, parse_function, resolve_execution_id
from .output import (
    echo_json,
    execution_document,
    execution_json,
    function_json,
    make_console,
    version_json,
)
from .tree_view import DepthOption, FullOption, NoTreeOption, tree_options
from .views import print_execution

if TYPE_CHECKING:
    from ..models import VersionRecord

IdArgument = Annotated[
    str, typer.Argument(metavar="ID", help="Execution id (or an unambiguous prefix)")
]
FunctionArgument = Annotated[
    str, typer.Argument(metavar="NS/NAME", help="The function (NAME alone: namespace default)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def show(
    ctx: typer.Context,
    execution_id: IdArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="The execution and its flat steps as JSON")
    ] = False,
    depth: DepthOption = None,
    full: FullOption = False,
    no_tree: NoTreeOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Show an execution: its tree, its output or its error with the failing path."""
    view = tree_options(depth, full, no_tree)
    execution, steps = _read_execution(ctx, execution_id, database, server)
    if as_json:
        echo_json(execution_document(execution, steps))
    else:
        print_execution(make_console(), execution, steps, view)


def _read_execution(
    ctx: typer.Context, execution_id: str, database: str | None, server: str | None
) -> tuple[ExecutionRecord, list[StepRecord]]:
    """The execution ``execution_id`` (or an unambiguous prefix) and its steps. A whole id on
    a local SQLite database is read without SQLAlchemy (:func:`open_sqlite_reader`)."""
    key = normalize_id(execution_id)
    if len(key) == ID_LENGTH:
        with open_sqlite_reader(ctx, database, server) as reader:
            if reader is not None:
                execution = reader.get_execution(key)
                if execution is None:
                    raise NotFoundError("execution", key)
                return execution, reader.get_steps(key)
    with open_backend(ctx, database, server) as store:
        full_id = resolve_execution_id(store, execution_id)
        found = store.get_execution(full_id)
        if found is None:
            raise NotFoundError("execution", full_id)
        return found, store.get_steps(full_id)


def tree(
    ctx: typer.Context,
    execution_id: IdArgument,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Print an execution's tree as plain text, without colours or a header (for scripts)."""
    with open_backend(ctx, database, server) as store:
        text = store.tree_text(resolve_execution_id(store, execution_id))
    if text:
        typer.echo(text)


def executions(
    ctx: typer.Context,
    function: Annotated[
        str | None, typer.Option("--function", "-f", metavar="NS/NAME", help="Only this function")
    ] = None,
    status: Annotated[
        ExecutionStatus | None,
        typer.Option(
            "--status",
            "-s",
            metavar="STATUS",
            help="Only this status: queued, running, succeeded, failed, timed_out, crashed "
            "or cancelled",
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
    ] = 20,
    include_shadow: Annotated[
        bool,
        typer.Option("--shadow", help="Also list shadow runs (runtree deploy --shadow)"),
    ] = False,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """List executions, newest first (shadow runs only with --shadow)."""
    namespace, name = parse_function(function) if function is not None else (None, None)
    with open_backend(ctx, database, server) as store:
        page, more = store.list_executions(
            namespace=namespace,
            name=name,
            status=None if status is None else str(status),
            limit=limit,
            include_shadow=include_shadow,
        )
    if as_json:
        echo_json([execution_json(execution) for execution in page])
        return
    if not page:
        make_console(stderr=True).print("no executions", style="dim")
        return
    from .tables import executions_table  # rich's tables: not for show

    make_console().print(executions_table(page))
    if more is not None:
        make_console(stderr=True).print(
            f"(the newest {limit} shown; --limit N for more)", style="dim"
        )


def functions(
    ctx: typer.Context,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """List deployed functions with their current version and last run."""
    with open_backend(ctx, database, server) as store:
        found = store.list_functions()
    if as_json:
        echo_json([function_json(function) for function in found])
    elif not found:
        make_console(stderr=True).print("no functions yet (runtree deploy PATH)", style="dim")
    else:
        from .tables import functions_table

        make_console().print(functions_table(found))


def _function_versions(store: Backend, namespace: str, name: str) -> list[VersionRecord]:
    found = store.list_versions(namespace, name)
    if not found:
        raise NotFoundError("function", f"{namespace}/{name}")
    return found


def versions(
    ctx: typer.Context,
    function: FunctionArgument,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """List a function's versions, oldest first."""
    namespace, name = parse_function(function)
    with open_backend(ctx, database, server) as store:
        found = _function_versions(store, namespace, name)
        record = store.get_function(namespace, name)
    if as_json:
        echo_json([version_json(version) for version in found])
        return
    console = make_console()
    if record is not None and record.description:
        console.print(Text(f"{record.qualified_name}: {record.description}"), soft_wrap=True)
    from .tables import versions_table

    console.print(versions_table(found))


def diff(
    ctx: typer.Context,
    function: FunctionArgument,
    from_version: Annotated[int, typer.Argument(metavar="FROM", min=1, help="Old version")],
    to_version: Annotated[
        int | None,
        typer.Argument(metavar="TO", min=1, help="New version [default: the latest]"),
    ] = None,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Show how two versions of a function differ (unified diff of their sources)."""
    namespace, name = parse_function(function)
    with open_backend(ctx, database, server) as store:
        numbers = {v.number for v in _function_versions(store, namespace, name)}
        target = max(numbers) if to_version is None else to_version
        for number in (from_version, target):
            if number not in numbers:
                raise NotFoundError("version", f"{namespace}/{name} v{number}")
        old = store.get_version(namespace, name, from_version)
        new = store.get_version(namespace, name, target)
    if old is None or new is None:  # deleted meanwhile
        raise NotFoundError("version", f"{namespace}/{name}")
    from .tables import diff_lines

    lines = diff_lines(old, new)
    console = make_console()
    if not lines:
        console.print(f"v{old.number} and v{new.number} are identical", style="dim")
    for line in lines:
        console.print(line, soft_wrap=True)
