"""``runtree test-from``: a recorded step becomes a pytest file (see
:mod:`runtree.service.testgen`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .backend import ServerOption, open_backend
from .database import DatabaseOption
from .errors import CliError
from .names import resolve_execution_id
from .output import make_console


def test_from(
    ctx: typer.Context,
    spec: Annotated[
        str,
        typer.Argument(
            metavar="EXECUTION[:STEP]",
            help="Execution id (or an unambiguous prefix), then optionally ':' and a step "
            "id or the name of a function that ran (its first call) [default: the root step]",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            dir_okay=False,
            help="Write FILE (e.g. tests/test_x.py; missing directories are made) "
            "[default: stdout]",
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Keep the real calls into other deployed functions (their sources are "
            "included) instead of stubs answering from the recording",
        ),
    ] = False,
    xfail: Annotated[
        bool,
        typer.Option(
            "--xfail",
            help="When a value the test needs was only recorded as a preview (truncated, "
            "redacted, not serializable), write the test anyway with the preview in its "
            "place, marked xfail (strict) with the reason, instead of refusing",
        ),
    ] = False,
    source_dir: Annotated[
        Path | None,
        typer.Option(
            "--source-dir",
            metavar="DIR",
            file_okay=False,
            help="Test the NAME.py files of DIR (the directory you deploy from) against the "
            "recording instead of the recorded sources; kept relative to the test file",
        ),
    ] = None,
    database: DatabaseOption = None,
    server: ServerOption = None,
) -> None:
    """Write a pytest file that replays one recorded call: its function's source, its
    recorded inputs, and an assertion on its recorded output (or pytest.raises with the
    recorded error); calls into other deployed functions answered by stubs, in order."""
    execution_text, colon, step_text = spec.partition(":")
    step = step_text if colon else None
    relative = None
    if source_dir is not None:
        base = output.resolve().parent if output is not None else Path.cwd()
        relative = os.path.relpath(source_dir.resolve(), base)
    with open_backend(ctx, database, server) as store:
        execution_id = resolve_execution_id(store, execution_text)
        generated = store.test_from(execution_id, step, live=live, xfail=xfail, source_dir=relative)
    if output is None:
        sys.stdout.write(generated.text)
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(generated.text, encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot write {output}: {error.strerror or error}") from None
    stubbed = "live calls" if live else f"{generated.stubbed_calls} stubbed calls"
    note = f"; xfail: {generated.xfail_reason}" if generated.xfail_reason else ""
    make_console(stderr=True).print(
        f"wrote {output} (step {generated.step_id}, {stubbed}{note})", style="dim", soft_wrap=True
    )
