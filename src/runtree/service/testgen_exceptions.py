"""Recorded exception types as expressions in a generated test: builtins by name, those of
a loaded module through it, those of a stubbed module as stand-in classes the file defines,
anything else imported by name at run time. Recorded text is never spliced into code
unless it is a plain dotted name."""

from __future__ import annotations

import ast
import builtins
import re

from .testgen_plan import TestPlan
from .testgen_source import DOTTED


class Exceptions:
    """Python expressions for recorded exception types (``KeyError``,
    ``modules["orders"].OutOfStock``), and stand-in classes for those of stubbed modules."""

    def __init__(self, plan: TestPlan) -> None:
        self.loaded = {m.module for m in [plan.module, *plan.live_modules]}
        self.stubbed = set(plan.stubs)
        self.stand_ins: dict[str, str] = {}

    def expression(self, type_name: str) -> str:
        kind = getattr(builtins, type_name, None)
        if isinstance(kind, type) and issubclass(kind, BaseException):
            return type_name
        module, _, qualname = type_name.partition(".")
        if not DOTTED.fullmatch(qualname):  # recorded text: never spliced into code
            return f"imported({type_name!r})"
        if module in self.loaded:
            return f"modules[{module!r}].{qualname}"
        if module in self.stubbed:
            if type_name not in self.stand_ins:
                base = re.sub(r"\W+", "_", qualname.rsplit(".", 1)[-1])
                name = base if base not in self.stand_ins.values() else f"{base}_{module}"
                self.stand_ins[type_name] = name
            return self.stand_ins[type_name]
        return f"imported({type_name!r})"

    def definitions(self) -> list[str]:
        return [
            f"class {name}(Exception):\n"
            f'    """Stands in for {type_name}: raised by a stubbed call (its module is not'
            f' loaded)."""\n\n\n{name}.__module__, {name}.__qualname__ = '
            f"{type_name.partition('.')[0]!r}, {type_name.partition('.')[2]!r}"
            for type_name, name in self.stand_ins.items()
        ]


def error_args(type_name: str, message: str) -> str:
    """Arguments that give an exception of ``type_name`` the recorded ``str()``: a
    ``KeyError`` shows its argument's repr."""
    if type_name == "KeyError":
        try:
            key = ast.literal_eval(message)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            key = None
        if isinstance(key, str) and repr(key) == message:
            return repr(key)
    return repr(message)
