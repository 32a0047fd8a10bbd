"""How a deployed function's parameters are passed, read from the ``def`` in its recorded
source (never by running it): the generated test calls the function with its recorded
inputs, and a stub stands in for another function with the same parameter list."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True, slots=True)
class Parameters:
    """How a function's parameters are passed, read from its ``def``; ``stub_signature`` is
    the parameter list for a stand-in (annotations dropped, defaults kept when literal)."""

    names: tuple[str, ...]
    positional: tuple[str, ...]
    positional_only: tuple[str, ...]
    vararg: str | None
    kwarg: str | None
    is_async: bool
    stub_signature: str
    unknown_defaults: tuple[str, ...]


# For a function whose ``def`` cannot be read: a stub that takes anything.
ANY_PARAMETERS = Parameters(
    names=("args", "kwargs"),
    positional=(),
    positional_only=(),
    vararg="args",
    kwarg="kwargs",
    is_async=False,
    stub_signature="(*args, **kwargs)",
    unknown_defaults=(),
)


def parameters_of(source: str, qualname: str) -> Parameters | None:
    """The parameters of the ``def`` named ``qualname`` (``f`` or ``Class.method``) at the
    top of ``source`` (the last definition wins, as when the module runs)."""
    try:
        body: Sequence[ast.stmt] = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    parts = qualname.split(".")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        kinds = (ast.FunctionDef, ast.AsyncFunctionDef) if last else (ast.ClassDef,)
        matches = [n for n in body if isinstance(n, kinds) and n.name == part]
        if not matches:
            return None
        node = matches[-1]
        if isinstance(node, ast.ClassDef):
            body = node.body
        elif last:
            found = node
    if found is None:
        return None
    arguments = found.args
    unknown: list[str] = []

    def default(node: ast.expr | None, name: str) -> ast.expr | None:
        if node is None:
            return None
        try:
            ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            unknown.append(name)
            return ast.Name("NOT_RECORDED")
        return node

    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults.extend(arguments.defaults)
    stub = ast.arguments(
        posonlyargs=[ast.arg(a.arg) for a in arguments.posonlyargs],
        args=[ast.arg(a.arg) for a in arguments.args],
        vararg=ast.arg(arguments.vararg.arg) if arguments.vararg else None,
        kwonlyargs=[ast.arg(a.arg) for a in arguments.kwonlyargs],
        kw_defaults=[
            default(d, a.arg)
            for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        ],
        kwarg=ast.arg(arguments.kwarg.arg) if arguments.kwarg else None,
        defaults=[
            d
            for d in (default(d, a.arg) for a, d in zip(positional, defaults, strict=True))
            if d is not None
        ],
    )
    every = [*positional, arguments.vararg, *arguments.kwonlyargs, arguments.kwarg]
    return Parameters(
        names=tuple(a.arg for a in every if a is not None),
        positional=tuple(a.arg for a in positional),
        positional_only=tuple(a.arg for a in arguments.posonlyargs),
        vararg=arguments.vararg.arg if arguments.vararg else None,
        kwarg=arguments.kwarg.arg if arguments.kwarg else None,
        is_async=isinstance(found, ast.AsyncFunctionDef),
        stub_signature=f"({ast.unparse(stub)})",
        unknown_defaults=tuple(unknown),
    )
