"""Writing Python source text for a generated test: names, comments, indentation, calls
wrapped to the file's width, and text as an exact string literal. Pure functions of their
arguments."""

from __future__ import annotations

import ast
import re

from .testgen_plan import Module

WIDTH = 88
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def ascii_name(qualname: str) -> str:
    """``qualname`` as a name part of a file or a test function: ASCII letters, digits, ``_``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", qualname).strip("_") or "step"


def comment_text(text: str) -> str:
    """Recorded text made safe for a ``#`` comment: one line, printable."""
    return "".join(c if c.isprintable() else "?" for c in text)[:500]


def source_name(module: Module) -> str:
    """The name of the constant that holds ``module``'s recorded source."""
    return f"SOURCE_{module.module.upper()}"


def parameter_names(signature: str) -> list[str]:
    """The names in a parameter list (``"(a, *args, b=1)"``), in order."""
    arguments = ast.parse(f"def f{signature}: pass").body[0].args  # type: ignore[attr-defined]
    names = [a.arg for a in [*arguments.posonlyargs, *arguments.args]]
    if arguments.vararg:
        names.append(arguments.vararg.arg)
    names += [a.arg for a in arguments.kwonlyargs]
    if arguments.kwarg:
        names.append(arguments.kwarg.arg)
    return names


def indented(text: str, spaces: int) -> str:
    """``text`` with each non-empty line indented by ``spaces``."""
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def text_literal(text: str) -> str:
    """``text`` as a readable triple-quoted literal when one is exact, else its repr."""
    if not text.endswith("\n"):
        text += "\n"
    for quotes in ('"""', "'''"):
        if quotes in text or "\r" in text:
            continue
        candidate = quotes + "\\\n" + text.replace("\\", "\\\\") + quotes
        try:
            if ast.literal_eval(candidate) == text:
                return candidate
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            pass
    return repr(text)


def call_of(function: str, arguments: list[str], indent: int = 8) -> str:
    """``function(arguments)`` on one line when it fits, else one argument a line."""
    flat = f"{function}({', '.join(arguments)})"
    if "\n" not in flat and len(flat) + indent <= WIDTH:
        return flat
    return f"{function}(\n" + indented(",\n".join(arguments), 4) + ",\n)"
