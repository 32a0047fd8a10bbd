"""Commands imported when they are used.

``runtree show ID`` imports the module of ``show`` and what it needs, not the modules of the
other thirty commands; ``runtree --help`` imports none of them. A command is declared by where
its function lives (``"module:function"`` under :mod:`runtree.cli`) and its one-line summary,
which ``runtree --help`` lists (a test checks each summary against the first paragraph of the
function's docstring, where ``runtree COMMAND --help`` takes it from). Typer builds the click
command from the function the first time the group is asked for it.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, ClassVar

import typer
import typer.main

from .errors import handle_errors
from .help import HelpCommand, HelpGroup

_TYPER_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "rich_markup_mode": None,
    "pretty_exceptions_show_locals": False,
}


def attribute(location: str) -> Any:
    """The object at ``"module:name"`` (a module of :mod:`runtree.cli`), imported now."""
    module, _, name = location.partition(":")
    return getattr(importlib.import_module(f"runtree.cli.{module}"), name)


@dataclasses.dataclass(frozen=True)
class LazyCommand:
    """The command ``name``: the function at ``location``, of the command class at ``cls``
    (``"module:Class"``; default :class:`HelpCommand`)."""

    name: str
    location: str
    summary: str
    cls: str | None = None

    def functions(self) -> dict[str, str]:
        """Where each function of this command lives, by command path."""
        return {self.name: self.location}

    def load(self) -> Any:
        single = typer.Typer(**_TYPER_SETTINGS)
        command_class = HelpCommand if self.cls is None else attribute(self.cls)
        single.command(self.name, cls=command_class)(handle_errors(attribute(self.location)))
        return typer.main.get_command(single)


@dataclasses.dataclass(frozen=True)
class LazyGroup:
    """The group ``name`` (its help is ``summary``) of the commands ``members``
    (``(name, "module:function")``, in listing order)."""

    name: str
    summary: str
    members: tuple[tuple[str, str], ...]

    def functions(self) -> dict[str, str]:
        return {f"{self.name} {member}": location for member, location in self.members}

    def load(self) -> Any:
        sub = typer.Typer(
            name=self.name,
            cls=HelpGroup,
            help=self.summary,
            no_args_is_help=True,
            context_settings={"help_option_names": ["-h", "--help"]},
            **_TYPER_SETTINGS,
        )
        for member, location in self.members:
            sub.command(member, cls=HelpCommand)(handle_errors(attribute(location)))
        return typer.main.get_command(sub)


class LazyCommandGroup(HelpGroup):
    """A group whose commands (``lazy_commands``, in listing order) are built when first
    asked for; its help lists their declared summaries without building them."""

    lazy_commands: ClassVar[tuple[LazyCommand | LazyGroup, ...]] = ()

    def list_commands(self, ctx: Any) -> list[str]:
        known = super().list_commands(ctx)
        return known + [lazy.name for lazy in self.lazy_commands if lazy.name not in known]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            for lazy in self.lazy_commands:
                if lazy.name == cmd_name:
                    found = self.commands[cmd_name] = lazy.load()
        return found

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands:
            if any(lazy.name == args[0] for lazy in self.lazy_commands):
                self.get_command(ctx, args[0])
            else:  # a typo: typer suggests close names among the commands built
                for lazy in self.lazy_commands:
                    self.get_command(ctx, lazy.name)
        return super().resolve_command(ctx, args)

    def command_summary(self, ctx: Any, name: str) -> str | None:
        if name not in self.commands:
            for lazy in self.lazy_commands:
                if lazy.name == name:
                    return lazy.summary
        return super().command_summary(ctx, name)
