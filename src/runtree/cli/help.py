"""Help screens in the shape of a well-kept CLI.

Typer's plain help shows how it parses, not what to type: ``{paths}...`` and ``<list[Path]>``
for arguments, ``<str>`` or ``<int range>`` for options without a metavar, ``[x>=1]`` for
bounds, and command summaries cut at about 45 characters with ``...``. These command classes
print the same help from the same declarations, but with each parameter's metavar (``PATH...``,
``NS/NAME``, ``--timeout S``), its default, and whole summaries.
"""

from __future__ import annotations

import enum
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup

from .coercion import defer_coercion

# The typer internals this module relies on are public attributes of click's parameters
# (opts, secondary_opts, metavar, nargs, required, default, show_default, is_flag, help).


def _argument_name(param: TyperArgument) -> str:
    name = param.metavar or (param.name or "ARG").upper()
    return name + ("..." if param.nargs != 1 else "")


def _argument_usage(param: TyperArgument) -> str:
    name = _argument_name(param)
    return name if param.required else f"[{name}]"


def _default_text(param: Any) -> str | None:
    """The default worth showing, as the user would type it; ``None`` when there is none."""
    if isinstance(param.show_default, str):
        return str(param.show_default)
    if not param.show_default or param.default is None or param.default in ((), []):
        return None
    if param.param_type_name == "option" and param.is_flag:
        if not param.secondary_opts:
            return None  # a plain flag is off unless given
        return "on" if param.default else "off"
    default: Any = param.default
    if isinstance(default, enum.Enum):
        default = default.value
    return str(default)


def _with_default(text: str, default: str | None) -> str:
    if default is None or "[default" in text:
        return text
    return f"{text} [default: {default}]" if text else f"[default: {default}]"


def _option_names(opts: list[str]) -> str:
    return ", ".join(sorted(opts, key=lambda opt: (opt.startswith("--"), opt)))


def _option_record(param: Any) -> tuple[str, str]:
    names = _option_names(param.opts)
    if not param.is_flag and not param.count:
        names += f" {param.metavar or 'VALUE'}"
    if param.secondary_opts:
        names += " / " + _option_names(param.secondary_opts)
    return names, _with_default(param.help or "", _default_text(param))


def _argument_record(param: TyperArgument) -> tuple[str, str]:
    return _argument_name(param), _with_default(param.help or "", _default_text(param))


class HelpCommand(TyperCommand):
    """A command whose help shows metavars and defaults, never parser internals (and whose
    parameters import pydantic only for a value that needs it: :mod:`.coercion`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        defer_coercion(params)
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        pieces += [
            _argument_usage(param)
            for param in self.get_params(ctx)
            if isinstance(param, TyperArgument)
        ]
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if getattr(param, "hidden", False):
                continue
            if isinstance(param, TyperArgument):
                arguments.append(_argument_record(param))
            elif param.param_type_name == "option":
                options.append(_option_record(param))
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def summary(help_text: str | None) -> str:
    """A command's whole first paragraph, on one line: what ``runtree --help`` lists."""
    paragraph = (help_text or "").strip().split("\n\n", 1)[0]
    return " ".join(paragraph.split())


class HelpGroup(TyperGroup):
    """A group whose help shows its options like :class:`HelpCommand` and lists its
    commands with their whole summaries (wrapped, never cut)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        defer_coercion(params)
        return params

    def format_options(self, ctx: Any, formatter: Any) -> None:
        HelpCommand.format_options(self, ctx, formatter)  # type: ignore[arg-type]
        self.format_commands(ctx, formatter)

    def command_summary(self, ctx: Any, name: str) -> str | None:
        """What the help lists for the command ``name`` (``None``: not listed)."""
        command = self.get_command(ctx, name)
        if command is None or command.hidden:
            return None
        return str(command.short_help or summary(command.help))

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            text = self.command_summary(ctx, name)
            if text is not None:
                rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class OptionalValueCommand(HelpCommand):
    """A command with options whose value may be left out: ``--shadow`` alone means
    ``--shadow=DEFAULT``, ``--shadow 5`` means 5. Click would otherwise take the next word
    as the value even when it is a path (``runtree deploy --shadow file.py``); here the next
    word is the value only when it is a number. ``optional_values`` maps each such option to
    its default."""

    optional_values: dict[str, str] = {}

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        for index, arg in enumerate(args):
            if arg == "--":
                rewritten.extend(args[index:])
                break
            following = args[index + 1] if index + 1 < len(args) else ""
            if arg in self.optional_values and not following.isdigit():
                arg = f"{arg}={self.optional_values[arg]}"
            rewritten.append(arg)
        return list(super().parse_args(ctx, rewritten))
