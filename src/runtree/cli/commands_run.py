"""``runtree run`` (start an execution, run it here or leave it queued) and ``runtree cancel``."""

from __future__ import annotations

import contextlib
import difflib
import json
import pathlib
import sys
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.text import Text

from .. import jsonlimits, service
from ..errors import JsonTooDeep
from ..models import ExecutionRecord, ExecutionStatus
from ..service import InputError
from ..store import NotFoundError
from .backend import ServerOption, open_backend
from .backend_protocol import Backend
from .database import DatabaseOption
from .errors import EXIT_FAILED, EXIT_INTERRUPTED, CliError, input_problems
from .names import parse_function, resolve_execution_id
from .output import echo_json, execution_document, make_console
from .tree_view import DepthOption, FullOption, NoTreeOption, tree_options
from .views import print_execution, signature_text, status_text


def read_input(text: str | None) -> Any:
    """``--input``: JSON text, ``@path`` to read it from a file, ``-`` from stdin."""
    if text is None:
        return None
    where = "--input"
    if text == "-":
        raw, where = sys.stdin.read(), "--input (stdin)"
    elif text.startswith("@"):
        try:
            raw = pathlib.Path(text[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CliError(f"--input {text}: cannot read: {error}") from None
        where = f"--input {text}"
    else:
        raw = text
    try:
        return jsonlimits.loads(raw, where)
    except JsonTooDeep as error:
        raise CliError(str(error)) from None
    except json.JSONDecodeError as error:
        raise CliError(
            f"{where} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None


def build_input(text: str | None, pairs: list[str]) -> Any:
    """``--input`` with the ``-a key=value`` pairs laid over it."""
    data = read_input(text)
    if not pairs:
        return data
    extra = service.input_from_pairs(pairs)
    if data is None:
        return extra
    if not isinstance(data, dict):
        raise CliError("--input must be a JSON object to be combined with -a key=value")
    return {**data, **extra}


def start(
    store: Backend, namespace: str, name: str, data: Any, version: int | None
) -> ExecutionRecord:
    """Queue the execution; unknown functions and bad input are usage errors."""
    qualified = f"{namespace}/{name}"
    try:
        return store.start(namespace, name, data, version)
    except InputError as error:
        details = input_problems(error)
        entry = store.get_version(namespace, name, version)
        if entry is not None and entry.signature:
            details.append(f"  expected: {signature_text(entry.signature)}")
        raise CliError(f"invalid input for {qualified}:", details=details) from None
    except NotFoundError as error:
        if error.kind == "version":
            latest = store.get_version(namespace, name)
            hint = f" (the latest is v{latest.number})" if latest is not None else ""
            raise CliError(f"{qualified} has no version {version}{hint}") from None
        names = [function.name for function in store.list_functions(namespace)]
        close = difflib.get_close_matches(name, names, n=3)
        details = [f"  did you mean: {', '.join(f'{namespace}/{c}' for c in close)}?"]
        raise CliError(
            f"no function {qualified} (see `runtree functions`)",
            details=details if close else [],
        ) from None


@contextlib.contextmanager
def _spinner(label: str) -> Iterator[None]:
    console = make_console(stderr=True)
    if not console.is_terminal:
        yield
        return
    with console.status(label):
        yield


def run_locally(store: Backend, execution: ExecutionRecord) -> ExecutionRecord:
    """Run the queued execution in a worker process started from here (no server needed),
    or, with ``--server``, wait for the server to run it.

    Ctrl-C stops the worker: the execution ends ``cancelled`` rather than staying running.
    """
    cancel = threading.Event()
    outcome: list[ExecutionRecord] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(store.finish(execution, cancel))
        except BaseException as error:  # handed to the main thread, which reports it
            failure.append(error)

    runner = threading.Thread(target=target, name="runtree-run", daemon=True)
    with _spinner(f"running {execution.qualified_name} v{execution.version} …"):
        runner.start()
        try:
            while runner.is_alive():
                runner.join(0.1)
        except KeyboardInterrupt:
            cancel.set()
            runner.join(10)
            record = store.get_execution(execution.id)
            status = record.status if record is not None else "unknown"
            raise CliError(
                f"interrupted; execution {execution.id} is {status}", exit_code=EXIT_INTERRUPTED
            ) from None
    if failure:
        raise failure[0]
    return outcome[0]


def run(
    ctx: typer.Context,
    function: Annotated[
        str, typer.Argument(metavar="NS/NAME", help="The function (NAME alone: namespace default)")
    ],
    input_json: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            metavar="JSON",
            help="Input as a JSON object of parameter names (@FILE reads a file, - stdin)",
        ),
    ] = None,
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            "-a",
            metavar="KEY=VALUE",
            help="One parameter, repeatable; the value is read as JSON when it is JSON, "
            "else as text",
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--at-version",
            "-V",
            metavar="N",
            min=1,
            help="Run version N of the function [default: the latest]",
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Only queue it and print its id (a server runs it)"),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the execution and its steps as JSON")
    ] = False,
    depth: DepthOption = None,
    full: FullOption = False,
    no_tree: NoTreeOption = False,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Run a function here, in a fresh worker process, and show what it did.

    Exit code 0 when it succeeded, 1 when it failed, timed out, crashed or was cancelled,
    2 for bad input or an unknown function (nothing is queued then).
    """
    view = tree_options(depth, full, no_tree)
    namespace, name = parse_function(function)
    try:
        data = build_input(input_json, arg or [])
    except InputError as error:
        raise CliError("invalid input:", details=input_problems(error)) from None
    with open_backend(ctx, database, server) as store:
        execution = start(store, namespace, name, data, version)
        if no_wait:
            if as_json:
                echo_json({"id": execution.id, "status": str(execution.status)})
            else:
                typer.echo(execution.id)
                runs_it = (
                    "the server runs it"
                    if store.remote
                    else "a running `runtree serve` on this database runs it"
                )
                hint = Text(
                    f"queued {execution.qualified_name} v{execution.version}; {runs_it} "
                    f"(`runtree show {execution.id}`)",
                    style="dim",
                )
                make_console(stderr=True).print(hint, soft_wrap=True)
            return
        finished = run_locally(store, execution)
        steps = store.get_steps(finished.id)
    if as_json:
        echo_json(execution_document(finished, steps))
    else:
        print_execution(make_console(), finished, steps, view)
    if finished.status != ExecutionStatus.SUCCEEDED:
        raise typer.Exit(EXIT_FAILED)


def cancel(
    ctx: typer.Context,
    execution_id: Annotated[
        str, typer.Argument(metavar="ID", help="Execution id (or an unambiguous prefix)")
    ],
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Cancel a queued execution at once, or ask the worker of a running one to stop it."""
    with open_backend(ctx, database, server) as store:
        full_id = resolve_execution_id(store, execution_id)
        before = store.get_execution(full_id)
        record = store.cancel(full_id)
    line = Text(f"{record.id}: ")
    if record.status == ExecutionStatus.CANCELLED and before is not None and not before.finished:
        line.append_text(status_text(record.status))
    elif not record.finished:
        line.append("cancel requested; the worker running it will stop it", style="yellow")
    else:
        line.append("already ")
        line.append_text(status_text(record.status))
        line.append("; nothing to cancel")
    make_console().print(line, soft_wrap=True)
