"""``runtree deploy PATH...``: each ``.py`` file deploys the function named after its stem
(the entry point); the file's other functions and classes are its helpers.

A batch is all-or-nothing: every file is first checked by deploying it into a scratch
in-memory store (the very same use case, so no rule is duplicated here); every error of every
file is reported, and only when none has one is the batch stored, file by file. The files of
a batch may call each other without being warned about (``known_functions``).
"""

from __future__ import annotations

import getpass
import pathlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from .. import service
from ..defaults import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from ..errors import InstrumentError, SourceCheckFailed, SourceTooComplex
from ..service import InvalidName, InvalidSettings, SourceTooLarge
from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .errors import CliError
from .help import OptionalValueCommand
from .names import DEFAULT_NAMESPACE
from .output import make_console
from .render_shadow import report_lines
from .views import signature_text

if TYPE_CHECKING:
    from ..settings import VersionSettings

# runtree.service.shadow's limits (a test keeps them equal): importing it here would load the
# database on every start of the CLI.
DEFAULT_SHADOW_RUNS = 20


class DeployCommand(OptionalValueCommand):
    """``deploy``, whose ``--shadow`` alone means ``--shadow`` :data:`DEFAULT_SHADOW_RUNS`."""

    optional_values = {"--shadow": str(DEFAULT_SHADOW_RUNS)}


MAX_SHADOW_RUNS = 200

SETTING_OPTIONS = {
    "timeout_s": "--timeout",
    "memory_mb": "--memory",
    "tracking": "--tracking",
    "network": "--network",
    "subprocesses": "--subprocesses",
    "queue": "--queue",
    "retries": "--retries",
}


class SourceFile:
    """One file of the batch: how the user named it, the function name, its text."""

    def __init__(self, shown: str, path: pathlib.Path) -> None:
        self.shown = shown
        self.path = path
        self.name = path.stem
        self.source = ""


def collect_files(paths: Sequence[pathlib.Path]) -> list[SourceFile]:
    """The batch: named files, and every ``.py`` directly inside named directories (except
    ``__init__.py`` and other dunder files, which are package boilerplate)."""
    files: list[SourceFile] = []
    seen: set[pathlib.Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.glob("*.py") if p.is_file() and not p.name.startswith("__")
            )
            if not found:
                raise CliError(f"{path}: no .py files in this directory")
            members = [(str(path / p.name), p) for p in found]
        elif path.is_file():
            if path.suffix != ".py":
                raise CliError(f"{path}: not a .py file")
            members = [(str(path), path)]
        else:
            raise CliError(f"{path}: no such file or directory")
        for shown, member in members:
            key = member.resolve()
            if key not in seen:
                seen.add(key)
                files.append(SourceFile(shown, member))
    by_name: dict[str, list[str]] = {}
    for file in files:
        by_name.setdefault(file.name, []).append(file.shown)
    clashes = {name: shown for name, shown in by_name.items() if len(shown) > 1}
    if clashes:
        raise CliError(
            "two files of the batch would deploy the same function:",
            details=[f"  {name}: {', '.join(shown)}" for name, shown in clashes.items()],
        )
    return files


def read_sources(files: Sequence[SourceFile]) -> list[str]:
    """Read every file; the problems, as ``path: error: message`` lines."""
    problems: list[str] = []
    for file in files:
        try:
            file.source = file.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            problems.append(f"{file.shown}: error: not UTF-8 text")
        except OSError as error:
            problems.append(f"{file.shown}: error: {error.strerror or error}")
    return problems


def check_batch(
    files: Sequence[SourceFile], namespace: str, settings: VersionSettings
) -> list[str]:
    """Deploy the batch into a scratch store; the problems, compiler style."""
    problems: list[str] = []
    known = frozenset(file.name for file in files)
    from ..store import Store

    with Store("sqlite://") as scratch:
        for file in files:
            try:
                service.deploy(
                    scratch,
                    namespace,
                    file.name,
                    file.source,
                    settings=settings,
                    known_functions=known,
                )
            except InstrumentError as error:
                problems.append(f"{file.shown}:{error.lineno}:{error.col}: error: {error.msg}")
            except (InvalidName, SourceTooLarge, SourceTooComplex, SourceCheckFailed) as error:
                problems.append(f"{file.shown}: error: {error}")
    return problems


def make_settings(
    timeout: float | None,
    memory: int | None,
    tracking: bool,
    network: bool = False,
    subprocesses: bool = False,
    queue: str | None = None,
    retries: int | None = None,
) -> VersionSettings:
    try:
        return service.make_settings(
            timeout_s=timeout,
            memory_mb=memory,
            tracking=tracking,
            network=network,
            subprocesses=subprocesses,
            queue=queue,
            retries=retries,
        )
    except InvalidSettings as error:
        option = SETTING_OPTIONS.get(error.field, error.field)
        raise CliError(f"{option}: {str(error).partition(': ')[2]}") from None


def who() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (containers without a passwd entry)
        return None


def deploy(
    ctx: typer.Context,
    paths: Annotated[
        list[pathlib.Path],
        typer.Argument(
            metavar="PATH",
            help="Python files, or directories of them: each file deploys the function named "
            "after it, and its other functions and classes go with it as its helpers",
        ),
    ],
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", metavar="NS", help="Namespace of the functions")
    ] = DEFAULT_NAMESPACE,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="S",
            help=f"Time limit per execution, in seconds [default: {DEFAULT_TIMEOUT_S:g}]",
        ),
    ] = None,
    memory: Annotated[
        int | None,
        typer.Option(
            "--memory",
            metavar="MB",
            help=f"Memory limit per execution, in MB [default: {DEFAULT_MEMORY_MB}]",
        ),
    ] = None,
    tracking: Annotated[
        bool, typer.Option("--tracking/--no-tracking", help="Record the steps of each run")
    ] = True,
    network: Annotated[
        bool,
        typer.Option(
            "--network/--no-network",
            help="Let runs open outbound TCP connections (sandbox: allowed ports only)",
        ),
    ] = False,
    subprocesses: Annotated[
        bool,
        typer.Option(
            "--subprocesses/--no-subprocesses",
            help="Let runs start processes (sandbox: a small process limit)",
        ),
    ] = False,
    queue: Annotated[
        str | None,
        typer.Option(
            "--queue",
            metavar="NAME",
            help="Queue the executions wait in; on PostgreSQL only `runtree worker --queue "
            "NAME` runs them [default: default]",
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            "--retries",
            metavar="N",
            help="Run an execution again from the start, up to N times (0 to 5), when its "
            "worker is lost [default: 0]",
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option(
            "--description",
            metavar="TEXT",
            help="Description of the function(s) [default: the entry point's docstring]",
        ),
    ] = None,
    shadow: Annotated[
        int | None,
        typer.Option(
            "--shadow",
            metavar="[N]",
            min=1,
            max=MAX_SHADOW_RUNS,
            help="Store the new versions without making them current, and replay the last N "
            f"replayable inputs of the current ones against them, network off [N: "
            f"{DEFAULT_SHADOW_RUNS}]",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="With --shadow: wait for the shadow runs and print the reports (without a "
            "server they run here)",
        ),
    ] = True,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Deploy functions: a new version when source or settings changed, else unchanged.

    All or nothing: if any file has an error, every error is printed and nothing is stored
    (exit 2). With --shadow a changed function's new version is stored but not made current:
    recorded inputs of its current version are replayed against it (a shadow report, printed
    when they ran); `runtree promote NAME VERSION` makes it current. A function's first
    version has nothing to compare with and becomes current.
    """
    service.validate_name("namespace", namespace)
    settings = make_settings(timeout, memory, tracking, network, subprocesses, queue, retries)
    files = collect_files(paths)
    problems = read_sources(files) or check_batch(files, namespace, settings)
    if problems:
        errors = make_console(stderr=True)
        for problem in problems:
            errors.print(Text(problem), soft_wrap=True)
        raise CliError(
            f"nothing deployed: {_count(problems, 'error')} in a batch of {_count(files, 'file')}"
        )
    known = frozenset(file.name for file in files)
    console = make_console()
    with open_backend(ctx, database, server) as backend:
        reports: list[tuple[str, str]] = []
        for file in files:
            result = backend.deploy(
                namespace,
                file.name,
                file.source,
                settings=settings,
                description=description,
                created_by=who(),
                known_functions=known,
                shadow=shadow,
            )
            version = result.version
            line = Text(f"{version.qualified_name}: ")
            line.append(f"v{version.number}", style="bold")
            line.append(
                " (new)" if result.created else " (unchanged)",
                style="green" if result.created else "dim",
            )
            if result.shadow_report is not None:
                line.append(f" not current: shadow report {result.shadow_report}", style="yellow")
                reports.append((file.name, result.shadow_report))
            elif not result.current:
                line.append(" not current", style="yellow")
            console.print(line, soft_wrap=True)
            if (version.signature or {}).get("is_async"):
                console.print(
                    Text(
                        f"  {signature_text(version.signature)}: each run awaits it on an "
                        "event loop of its own",
                        style="dim",
                    ),
                    soft_wrap=True,
                )
            for warning in version.warnings:
                console.print(
                    Text(
                        f"  {file.shown}:{warning.get('lineno')}:{warning.get('col')}: "
                        f"{warning.get('message')}",
                        style="yellow",
                    ),
                    soft_wrap=True,
                )
        for name, report_id in reports:
            if not wait:
                target = name if namespace == DEFAULT_NAMESPACE else f"{namespace}/{name}"
                console.print(
                    Text(f"`runtree shadow {target} --report {report_id}` shows it", style="dim"),
                    soft_wrap=True,
                )
                continue
            console.print()
            for report_line in report_lines(backend.finish_shadow(namespace, name, report_id)):
                console.print(report_line, soft_wrap=True)


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
