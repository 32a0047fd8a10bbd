"""Typer's parameter coercion, without importing pydantic until a value needs it.

Typer coerces each parameter's value with a pydantic ``TypeAdapter``, which it builds the first
time the parameter is processed -- even when the value is absent -- so any command imports
pydantic and builds adapters (about 0.15 s of CPU here: half of ``runtree show ID``).
:func:`defer_coercion` gives a command's parameters a coercion that handles an absent value
as typer's own does (its base class's code), returns the text of a plain ``str`` parameter as
it is (what typer's string adapter returns for text), and builds typer's coercion on the first
value that needs it. Typer versions without this machinery (click types) are left alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any

try:  # typer's private coercion layer (typer >= 0.2x); absent before
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # pragma: no cover - an older typer coerces with click's types
    RuntimeParam = None  # type: ignore[assignment,misc]


if RuntimeParam is not None:

    @dataclasses.dataclass(frozen=True)
    class _DeferredCoercion(RuntimeParam):
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.annotation is str and self.parameter_info.parser is None and type(value) is str:
                return value
            coercion = build_runtime_param(self.descriptor)
            param._runtime_param = coercion  # typer's own from now on
            return coercion._coerce_value(value, param=param, ctx=ctx)


def defer_coercion(params: list[Any]) -> None:
    """Give each of ``params`` (a command's typer parameters) the deferred coercion."""
    if RuntimeParam is None:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue
        param._runtime_param = _DeferredCoercion(
            parameter_info=descriptor.parameter_info,
            annotation=descriptor.annotation,
            descriptor=descriptor,
        )
