"""Deferred coercion (runtree.cli.coercion) parses exactly as typer's own: the same values and
the same errors for text, numbers with bounds, paths, absent options and lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.core import TyperCommand
from typer.testing import CliRunner

from runtree.cli.help import HelpCommand


def _app(cls: type[TyperCommand]) -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.command(cls=cls)
    def command(
        name: str,
        count: Annotated[int, typer.Option(min=1, max=5)] = 1,
        label: Annotated[str | None, typer.Option()] = None,
        path: Annotated[Path | None, typer.Option()] = None,
        tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
        ratio: Annotated[float, typer.Option()] = 0.5,
    ) -> None:
        typer.echo(repr((name, count, label, path, tags, ratio)))

    return app


@pytest.mark.parametrize(
    "args",
    [
        ["x"],
        ["é ü", "--label", "", "--count", "5"],
        ["x", "--label", "a b", "--path", "d/f.py", "--tag", "1", "--tag", "two"],
        ["x", "--count", "0"],
        ["x", "--count", "abc"],
        ["x", "--ratio", "nan?"],
        ["x", "--ratio", "2"],
        [],
    ],
)
def test_same_values_and_errors_as_typers_own(args: list[str]) -> None:
    ours = CliRunner().invoke(_app(HelpCommand), args)
    theirs = CliRunner().invoke(_app(TyperCommand), args)
    # (the usage line differs on purpose: runtree's help names arguments by their metavar)
    assert ours.exit_code == theirs.exit_code
    assert ours.output.splitlines()[1:] == theirs.output.splitlines()[1:]
    if ours.exit_code == 0:
        assert ours.output == theirs.output
