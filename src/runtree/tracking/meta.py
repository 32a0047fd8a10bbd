"""The per-function metadata the instrumenter bakes into code and the runtime reads.

Each instrumented def carries one constant tuple, its *meta*, which the injected code passes to
the runtime on every call. Being a constant of the code object, it survives ``marshal`` and
costs nothing to pass; the runtime compares metas by identity.
"""

from __future__ import annotations

from typing import Any

# Field positions in a meta tuple.
QUALNAME = 0
FILENAME = 1
LINENO = 2
PARAMS = 3
FLAGS = 4
VERSION = 5

# FLAGS bits.
GENERATOR = 1  # a generator or async-generator function: its step spans first next() to close
ASYNC = 2  # an ``async def``
BOUND_FIRST = 4  # a method whose first parameter is ``self``/``cls``: captured by type only

Meta = tuple[str, str, int, tuple[str, ...], int, Any]


def make_meta(
    qualname: str,
    filename: str,
    lineno: int,
    params: tuple[str, ...],
    flags: int,
    version: Any = None,
) -> Meta:
    """Build a meta tuple (only constants: it becomes part of the compiled code)."""
    return (qualname, filename, lineno, params, flags, version)
