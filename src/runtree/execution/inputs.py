"""Validating an execution's input against the entry point's signature, before anything runs.

Input is a JSON object; keys are parameter names. Values are validated with pydantic in strict
JSON mode against the parameter's annotation when runtree can resolve it safely (builtins and
``typing`` names; anything else is accepted as is). The result is the positional and keyword
arguments to call the entry point with.
"""

from __future__ import annotations

import ast
import functools
import json
import typing
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from ..errors import InputError, InputProblem
from ..instrument.signature import (
    KEYWORD_ONLY,
    POSITIONAL_ONLY,
    POSITIONAL_OR_KEYWORD,
    VAR_KEYWORD,
    VAR_POSITIONAL,
    EntrySignature,
)
from ..jsonlimits import MAX_JSON_DEPTH, too_deep

_SAFE_NAMES: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "None": None,
    "object": Any,
    "Any": Any,
    "List": list,
    "Dict": dict,
    "Tuple": tuple,
    "Set": set,
    "FrozenSet": frozenset,
    "Optional": typing.Optional,
    "Union": typing.Union,
    "Literal": typing.Literal,
    "Sequence": list,
    "Mapping": dict,
}
_STRICT = ConfigDict(strict=True)


def resolve_annotation(text: str | None) -> Any:
    """The type an annotation's source text names, or ``Any`` when it is not a safe one."""
    if not text:
        return Any
    try:
        node = ast.parse(text, mode="eval").body
        return _resolve(node)
    except (SyntaxError, ValueError, TypeError, KeyError, RecursionError):
        return Any


def _resolve(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return None
        if isinstance(node.value, str):  # a string annotation: "int"
            return resolve_annotation(node.value)
        raise ValueError("not a type")
    if isinstance(node, ast.Name):
        return _SAFE_NAMES[node.id]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id in ("typing", "t", "collections", "abc"):
            return _SAFE_NAMES[node.attr]
        raise KeyError(node.attr)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return typing.Union[_resolve(node.left), _resolve(node.right)]  # noqa: UP007
    if isinstance(node, ast.Subscript):
        origin = _resolve(node.value)
        elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if origin is typing.Literal:
            values = tuple(ast.literal_eval(e) for e in elements)
            return typing.Literal[values]
        arguments = tuple(_resolve(e) for e in elements)
        return origin[arguments if len(arguments) > 1 else arguments[0]]
    raise ValueError("unsupported annotation")


def check_input_depth(data: Any, what: str = "input") -> None:
    """Raise :class:`InputError` naming the limit when ``data`` nests deeper than
    :data:`~runtree.jsonlimits.MAX_JSON_DEPTH` (every entry checks this before anything
    recursive touches the value)."""
    if too_deep(data):
        raise InputError([InputProblem(what, TOO_DEEP_PROBLEM)])


TOO_DEEP_PROBLEM = f"nests deeper than {MAX_JSON_DEPTH} levels (the limit for JSON values)"


def bind_input(signature: EntrySignature, data: Any) -> tuple[list[Any], dict[str, Any]]:
    """Check ``data`` against ``signature``; return ``(args, kwargs)`` or raise InputError."""
    if not isinstance(data, dict):
        raise InputError([InputProblem("input", "must be a JSON object of parameter names")])
    check_input_depth(data)
    params = {p.name: p for p in signature.parameters}
    var_positional = next((p for p in signature.parameters if p.kind == VAR_POSITIONAL), None)
    var_keyword = next((p for p in signature.parameters if p.kind == VAR_KEYWORD), None)
    problems: list[InputProblem] = []
    values: dict[str, Any] = {}
    for key, value in data.items():
        param = params.get(key)
        if param is None or param.kind == VAR_KEYWORD:
            if var_keyword is None:
                problems.append(InputProblem(key, "unknown parameter"))
            else:
                values[key] = value
            continue
        checked = _check(
            param.annotation, value, key, problems, list_of=param.kind == VAR_POSITIONAL
        )
        values[key] = checked
    for param in signature.parameters:
        required = param.kind in (POSITIONAL_ONLY, POSITIONAL_OR_KEYWORD, KEYWORD_ONLY)
        if required and not param.has_default and param.name not in data:
            problems.append(InputProblem(param.name, "missing required parameter"))
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    positional_only = [p for p in signature.parameters if p.kind == POSITIONAL_ONLY]
    missing_before: str | None = None
    for param in positional_only:
        if param.name in values:
            if missing_before is not None:
                problems.append(
                    InputProblem(param.name, f"positional-only: give {missing_before!r} too")
                )
            args.append(values.pop(param.name))
        elif missing_before is None:
            missing_before = param.name
    if var_positional is not None and var_positional.name in values:
        extra = values.pop(var_positional.name)
        if not isinstance(extra, list):
            problems.append(InputProblem(var_positional.name, "must be a list of values"))
            extra = []
        # *args can only follow a complete positional list
        for param in signature.parameters:
            if param.kind == POSITIONAL_OR_KEYWORD:
                if param.name not in values:
                    problems.append(
                        InputProblem(param.name, f"required when {var_positional.name!r} is given")
                    )
                    break
                args.append(values.pop(param.name))
        args.extend(extra)
    kwargs.update(values)
    if problems:
        raise InputError(problems)
    return args, kwargs


def _check(
    annotation: str | None, value: Any, name: str, problems: list[InputProblem], *, list_of: bool
) -> Any:
    adapter = _adapter(annotation, list_of)
    if adapter is None:
        return value
    try:
        return adapter.validate_json(json.dumps(value))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        detail = f" at {where}" if where else ""
        expected = f"a list of {annotation}" if list_of else annotation
        problems.append(InputProblem(name, f"{first['msg']}{detail} (expected {expected})"))
        return value
    except (TypeError, ValueError):
        return value


@functools.lru_cache(maxsize=1024)
def _adapter(annotation: str | None, list_of: bool) -> TypeAdapter[Any] | None:
    """The validator of an annotation (``None``: anything goes). Building one costs far more
    than validating with it, and every execution is checked twice (when it is started and
    when it is run), so they are kept."""
    kind = resolve_annotation(annotation)
    if list_of:
        kind = list[kind]  # type: ignore[valid-type]
    if kind is Any:
        return None
    try:
        return TypeAdapter(kind, config=_STRICT)
    except (TypeError, ValueError):  # a type pydantic cannot build a validator for
        return None
