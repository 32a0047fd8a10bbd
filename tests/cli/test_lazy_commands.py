"""Commands are built when used: what ``runtree --help`` lists for each (declared in
``runtree.cli`` so that listing them imports none of their modules) is the summary of the
command's own help, and every declared function exists."""

from __future__ import annotations

import typer.main
from typer.testing import CliRunner

from runtree.cli import _RuntreeGroup, app
from runtree.cli.help import summary
from runtree.cli.lazy import LazyCommand, attribute


def test_each_listed_summary_is_the_first_paragraph_of_the_command_help() -> None:
    for lazy in _RuntreeGroup.lazy_commands:
        if isinstance(lazy, LazyCommand):
            function = attribute(lazy.location)
            assert lazy.summary == summary(function.__doc__), (
                f"runtree {lazy.name}: update its summary in runtree/cli/__init__.py"
            )
        else:  # a group: its help is the summary itself
            assert lazy.load().help == lazy.summary


def test_every_declared_function_is_a_command_once_built() -> None:
    group = typer.main.get_command(app)
    context = group.make_context("runtree", [], resilient_parsing=True)
    names = group.list_commands(context)
    assert len(names) == len(set(names)) == len(_RuntreeGroup.lazy_commands)
    for lazy in _RuntreeGroup.lazy_commands:
        for location in lazy.functions().values():
            assert callable(attribute(location)), location
        built = group.get_command(context, lazy.name)
        assert built is not None and built.name == lazy.name
        assert group.get_command(context, lazy.name) is built  # built once


def test_a_mistyped_command_gets_suggestions() -> None:
    result = CliRunner().invoke(app, ["shwo"])
    assert result.exit_code == 2
    assert "No such command 'shwo'. Did you mean 'show'" in result.output
    result = CliRunner().invoke(app, ["keys", "lst"])
    assert result.exit_code == 2 and "Did you mean 'list'" in result.output
