"""The entry point's signature, read from the AST (the server never runs user code).

Stored with each version so the server can validate inputs before anything runs, and so the
web UI can build a run form.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from ..errors import InstrumentError

POSITIONAL_ONLY = "positional_only"
POSITIONAL_OR_KEYWORD = "positional_or_keyword"
VAR_POSITIONAL = "var_positional"
KEYWORD_ONLY = "keyword_only"
VAR_KEYWORD = "var_keyword"


@dataclasses.dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter. ``annotation`` is the source text of its annotation (or ``None``);
    ``default`` is the default's value when it is a literal, ``default_source`` its text."""

    name: str
    kind: str
    annotation: str | None = None
    has_default: bool = False
    default: Any = None
    default_source: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class EntrySignature:
    name: str
    is_async: bool
    parameters: tuple[Parameter, ...]
    docstring: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EntrySignature:
        params = tuple(Parameter(**p) for p in data.get("parameters", ()))
        return cls(
            name=data["name"],
            is_async=bool(data.get("is_async", False)),
            parameters=params,
            docstring=data.get("docstring"),
        )


def entry_signature(tree: ast.Module, name: str, source: str) -> EntrySignature:
    """The signature of the top-level ``def name``; :class:`InstrumentError` if there is none."""
    found: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            found = node  # the last definition wins, as at run time
    if found is None:
        raise InstrumentError(f"the module must define a top-level function named {name!r}", 1, 1)
    args = found.args
    params: list[Parameter] = []
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults.extend(args.defaults)
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        kind = POSITIONAL_ONLY if index < len(args.posonlyargs) else POSITIONAL_OR_KEYWORD
        params.append(_parameter(arg, kind, default, source))
    if args.vararg is not None:
        params.append(_parameter(args.vararg, VAR_POSITIONAL, None, source))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append(_parameter(arg, KEYWORD_ONLY, kw_default, source))
    if args.kwarg is not None:
        params.append(_parameter(args.kwarg, VAR_KEYWORD, None, source))
    return EntrySignature(
        name=name,
        is_async=isinstance(found, ast.AsyncFunctionDef),
        parameters=tuple(params),
        docstring=ast.get_docstring(found),
    )


def _parameter(arg: ast.arg, kind: str, default: ast.expr | None, source: str) -> Parameter:
    annotation = ast.get_source_segment(source, arg.annotation) if arg.annotation else None
    if default is None:
        return Parameter(arg.arg, kind, annotation)
    try:
        value = ast.literal_eval(default)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        value = None
    return Parameter(
        arg.arg,
        kind,
        annotation,
        has_default=True,
        default=_json_safe(value),
        default_source=ast.get_source_segment(source, default),
    )


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_safe(v) for k, v in value.items()}
    return None
