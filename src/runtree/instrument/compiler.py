"""``instrument()``: user source in, instrumented code object out (pure: no I/O).

The source is parsed once; the rewritten AST is compiled directly (no unparse round trip), so
every user line keeps its number, and the hooks it names are then bound as constants of the
code (:mod:`.binding`). The source is registered with :mod:`linecache` under
``filename`` so tracebacks and ``inspect.getsource`` show it.
"""

from __future__ import annotations

import ast
import io
import linecache
import re
import tokenize
import types
from typing import Any

from ..errors import InstrumentError
from ..tracking import runtime, safe_pickle
from .binding import bind_hooks
from .transform import Instrumenter

_NO_TRACK = re.compile(r"#\s*runtree:\s*no-track\b")


def parse(source: str, filename: str = "<runtree>") -> ast.Module:
    """Parse ``source`` or raise :class:`InstrumentError` with the position of the problem."""
    if not isinstance(source, str):
        raise TypeError(f"source must be str, not {type(source).__name__}")
    if "\0" in source:
        lineno, col = _position_of(source, source.index("\0"))
        raise InstrumentError("source contains a null byte", lineno, col)
    try:
        return ast.parse(source, filename=filename)
    except UnicodeEncodeError as error:  # a lone surrogate: text that is not valid Unicode
        lineno, col = _position_of(source, error.start)
        raise InstrumentError(
            f"source contains a character that is not valid Unicode ({source[error.start]!a})",
            lineno,
            col,
        ) from None
    except SyntaxError as error:
        raise _from_syntax_error(error) from None
    except (RecursionError, MemoryError):
        raise InstrumentError("code is nested too deeply to parse", 1, 1) from None


def instrument(source: str, filename: str, *, version: Any = None) -> types.CodeType:
    """Instrument every function definition in ``source`` and compile it.

    ``version`` (any constant, e.g. the function version number) is recorded on each step of
    these functions. Raises :class:`InstrumentError` (``lineno``, ``col``, ``msg``) for code that
    cannot be compiled; never a bare ``SyntaxError``.
    """
    tree = parse(source, filename)
    try:
        original = compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as error:  # errors the parser lets through: ``return`` outside a def ...
        raise _from_syntax_error(error) from None
    except (RecursionError, MemoryError):
        raise InstrumentError("code is nested too deeply to compile", 1, 1) from None
    del original
    try:
        Instrumenter(filename, version, _opted_out_lines(source)).visit(tree)
        ast.fix_missing_locations(tree)
        code = bind_hooks(compile(tree, filename, "exec", dont_inherit=True), runtime.HOOKS)
    except (RecursionError, MemoryError):
        raise InstrumentError("code is nested too deeply to instrument", 1, 1) from None
    except SyntaxError as error:  # pragma: no cover - a bug in the rewrite, not in user code
        raise InstrumentError(
            f"runtree could not instrument this code: {error.msg}",
            error.lineno or 1,
            error.offset or 1,
        ) from None
    register_source(source, filename)
    return code


def register_source(source: str, filename: str) -> None:
    """Make ``source`` visible to tracebacks and ``inspect`` under ``filename``."""
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # mtime None: linecache.checkcache never evicts it (there is no file to compare with).
    linecache.cache[filename] = (len(source), None, lines, filename)
    safe_pickle.user_files.add(filename)


def _opted_out_lines(source: str) -> set[int]:
    lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and _NO_TRACK.search(token.string):
                lines.add(token.start[0])
    except (tokenize.TokenError, SyntaxError):  # already parsed fine; be lenient here
        pass
    return lines


def _from_syntax_error(error: SyntaxError) -> InstrumentError:
    return InstrumentError(error.msg or "invalid syntax", error.lineno or 1, error.offset or 1)


def _position_of(source: str, index: int) -> tuple[int, int]:
    before = source[:index]
    lineno = before.count("\n") + 1
    col = index - (before.rfind("\n") + 1) + 1
    return lineno, col
