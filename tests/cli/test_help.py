"""Every help screen reads like a well-kept CLI's: metavars instead of parser internals, whole
summaries, defaults as the user types them, and nothing that points outside the repository."""

from __future__ import annotations

import re
from collections.abc import Iterator

import typer.main
from typer.testing import CliRunner

from runtree.cli import app
from runtree.cli.help import summary
from runtree.cli.reference import walk_commands

INTERNALS = re.compile(
    r"<[a-z]|\{[a-z]|\[x[<>]=|x[<>]=\d| range\b|(?<![=A-Z])VALUE\b|``|DESIGN\.md|\.\./"
)


def commands() -> Iterator[tuple[list[str], object]]:
    yield from walk_commands(typer.main.get_command(app))


def help_of(path: list[str]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_no_help_screen_shows_parser_internals() -> None:
    found = list(commands())
    assert len(found) > 20
    for path, _ in found:
        text = help_of(path)
        bad = INTERNALS.findall(text)
        assert not bad, f"runtree {' '.join(path)} --help shows {bad}:\n{text}"


def test_command_lists_show_whole_summaries() -> None:
    for path, command in commands():
        subcommands = getattr(command, "commands", {})
        if not subcommands:
            continue
        listing = " ".join(help_of(path).split("Commands:", 1)[1].split())
        for name, sub in subcommands.items():
            whole = summary(getattr(sub, "help", None))
            assert whole and not whole.endswith("..."), name
            assert f"{name} {whole}" in listing, f"{name}: {whole!r} cut in:\n{listing}"


def test_usage_lines_and_defaults_are_what_a_user_types() -> None:
    deploy = help_of(["deploy"])
    assert "Usage: runtree deploy [OPTIONS] PATH...\n" in deploy
    assert "each file deploys the\n" in deploy or "each file deploys the function" in " ".join(
        deploy.split()
    )
    assert "[default: off]" in deploy and "[default: on]" in deploy
    assert "Usage: runtree diff [OPTIONS] NS/NAME FROM [TO]\n" in help_of(["diff"])
    assert "-V, --at-version N" in help_of(["run"])


def test_run_at_version_does_not_clash_with_the_global_version() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--version"]).stdout.startswith("runtree ")
    clash = runner.invoke(app, ["run", "f", "--version", "2"])
    assert clash.exit_code == 2 and "No such option: --version" in clash.stderr
