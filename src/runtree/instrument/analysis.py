"""``analyze()``: what an upload defines, what it needs from elsewhere, what looks wrong."""

from __future__ import annotations

import ast
import dataclasses

from .compiler import parse


@dataclasses.dataclass(frozen=True, slots=True)
class Warning:
    """One pyflakes finding: 1-based line and column, and the message."""

    lineno: int
    col: int
    message: str
    kind: str

    def __str__(self) -> str:
        return f"line {self.lineno}, column {self.col}: {self.message}"


@dataclasses.dataclass(frozen=True, slots=True)
class Analysis:
    """``functions``: top-level defs in order; ``free_names``: names used but defined neither
    here nor in builtins (the platform resolves them to other uploaded functions)."""

    warnings: tuple[Warning, ...]
    functions: tuple[str, ...]
    free_names: tuple[str, ...]


def analyze(source: str, filename: str = "<runtree>") -> Analysis:
    """Check ``source`` with pyflakes. Raises :class:`runtree.InstrumentError` on bad syntax."""
    from pyflakes import checker, messages  # imported here: workers never need it

    tree = parse(source, filename)
    found = checker.Checker(tree, filename=filename)
    warnings = []
    free: list[str] = []
    for message in sorted(found.messages, key=lambda m: (m.lineno, m.col)):
        if isinstance(message, messages.UndefinedName):
            name = str(message.message_args[0])
            if name not in free:
                free.append(name)
        warnings.append(
            Warning(
                lineno=message.lineno,
                col=message.col + 1,
                message=message.message % message.message_args,
                kind=type(message).__name__,
            )
        )
    functions = tuple(
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    )
    return Analysis(warnings=tuple(warnings), functions=functions, free_names=tuple(free))
