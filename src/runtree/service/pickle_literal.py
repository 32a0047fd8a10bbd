"""Reading a recorded pickle of plain data as Python source, without unpickling it.

A generated test is easiest to read when its values are literals (``{"customer_id": 42}``)
rather than opaque bytes. The server never unpickles what a worker sent, so this module
does not call :mod:`pickle` at all: it walks the opcode stream with
:func:`pickletools.genops` (a parser: it imports nothing and calls nothing) and accepts only
the opcodes that build ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``,
``bytearray``, ``list``, ``tuple``, ``dict``, ``set`` and ``frozenset``. Anything else -- a
class or function reference, a reduce, an object's state, an extension code -- and the
answer is ``None``: the caller embeds the bytes and lets the test decode them itself.

Also ``None`` (so the bytes are embedded) when the value could not be written back exactly
as a literal: a mutable container referenced twice (a literal cannot share it), a float
that is not finite, nesting deeper than :data:`MAX_DEPTH`, or source longer than
:data:`MAX_CHARS` (memo references can repeat a large string many times).
"""

from __future__ import annotations

import math
import pickletools
import pprint
from typing import Any

MAX_DEPTH = 50
MAX_CHARS = 256 * 1024

_IMMUTABLE_SCALARS = (type(None), bool, int, float, str, bytes)
_MARK = object()
_NOT_PLAIN = "not plain builtin data"  # the message of the ValueError that says so
_ARG_SCALARS = frozenset(
    {
        "INT",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG",
        "LONG1",
        "LONG4",
        "FLOAT",
        "BINFLOAT",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "BINBYTES",
        "SHORT_BINBYTES",
        "BINBYTES8",
    }
)
_EMPTY = {
    "EMPTY_LIST": list,
    "EMPTY_DICT": dict,
    "EMPTY_SET": set,
    "EMPTY_TUPLE": tuple,
}
_NO_EFFECT = frozenset({"PROTO", "FRAME"})
_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})


def literal_source(blob: bytes) -> str | None:
    """Python source that evaluates to the value pickled in ``blob``, or ``None`` when the
    pickle holds anything but plain builtin data (or it cannot be written exactly)."""
    try:
        value, chars = _read(blob)
    except (ValueError, IndexError, KeyError, TypeError, RecursionError):
        return None
    if chars > MAX_CHARS:
        return None
    try:
        text = pprint.pformat(value, width=88, sort_dicts=False)
    except RecursionError:
        return None
    return text if len(text) <= MAX_CHARS else None


def _read(blob: bytes) -> tuple[Any, int]:
    """The value and an upper bound of its source length; raises ``ValueError``."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    chars = 0
    memo_next = 0
    for opcode, arg, _position in pickletools.genops(blob):
        name = opcode.name
        if name in _NO_EFFECT:
            continue
        if name == "STOP":
            if len(stack) != 1 or stack[0] is _MARK:
                raise ValueError(_NOT_PLAIN)
            _check_depth(stack[0])
            return stack[0], chars
        if name in _ARG_SCALARS:
            if isinstance(arg, float) and not math.isfinite(arg):
                raise ValueError(_NOT_PLAIN)
            stack.append(arg)
            chars += _size(arg)
        elif name == "NONE":
            stack.append(None)
            chars += 4
        elif name in ("NEWTRUE", "NEWFALSE"):
            stack.append(name == "NEWTRUE")
            chars += 5
        elif name == "BYTEARRAY8":
            stack.append(bytearray(bytes(arg or b"")))
            chars += _size(arg) + 11
        elif name in _EMPTY:
            stack.append(_EMPTY[name]())
            chars += 6
        elif name == "MARK":
            stack.append(_MARK)
        elif name in ("LIST", "TUPLE", "FROZENSET"):
            items = _pop_mark(stack)
            kind = {"LIST": list, "TUPLE": tuple, "FROZENSET": frozenset}[name]
            stack.append(kind(items))
            chars += 12
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            count = int(name[-1])
            if len(stack) < count or any(item is _MARK for item in stack[-count:]):
                raise ValueError(_NOT_PLAIN)
            items = stack[-count:]
            del stack[-count:]
            stack.append(tuple(items))
            chars += 4
        elif name == "DICT":
            stack.append(_pairs_to_dict({}, _pop_mark(stack)))
            chars += 2
        elif name in ("APPEND", "APPENDS"):
            items = [stack.pop()] if name == "APPEND" else _pop_mark(stack)
            target = stack[-1]
            if type(target) is not list:
                raise ValueError(_NOT_PLAIN)
            target.extend(items)
        elif name in ("SETITEM", "SETITEMS"):
            items = stack[-2:] if name == "SETITEM" else _pop_mark(stack)
            if name == "SETITEM":
                del stack[-2:]
            target = stack[-1]
            if type(target) is not dict:
                raise ValueError(_NOT_PLAIN)
            _pairs_to_dict(target, items)
        elif name == "ADDITEMS":
            items = _pop_mark(stack)
            target = stack[-1]
            if type(target) is not set:
                raise ValueError(_NOT_PLAIN)
            target.update(items)
        elif name == "MEMOIZE":
            memo[memo_next] = stack[-1]
            memo_next += 1
        elif name in _PUTS:
            memo[int(arg or 0)] = stack[-1]
        elif name in _GETS:
            value = memo[int(arg or 0)]
            if type(value) not in _IMMUTABLE_SCALARS:
                raise ValueError(_NOT_PLAIN)  # a shared container: a literal would copy it
            stack.append(value)
            chars += _size(value)
        elif name == "POP":
            stack.pop()
        elif name == "POP_MARK":
            _pop_mark(stack)
        elif name == "DUP":
            stack.append(stack[-1])
        else:
            raise ValueError(
                _NOT_PLAIN
            )  # GLOBAL, STACK_GLOBAL, REDUCE, BUILD, NEWOBJ, EXT*, PERSID ...
        if chars > MAX_CHARS:
            raise ValueError(_NOT_PLAIN)
    raise ValueError(_NOT_PLAIN)  # no STOP


def _pop_mark(stack: list[Any]) -> list[Any]:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise ValueError(_NOT_PLAIN)


def _pairs_to_dict(target: dict[Any, Any], items: list[Any]) -> dict[Any, Any]:
    if len(items) % 2:
        raise ValueError(_NOT_PLAIN)
    for index in range(0, len(items), 2):
        target[items[index]] = items[index + 1]  # unhashable keys raise TypeError
    return target


def _size(value: Any) -> int:
    if type(value) is int:
        return value.bit_length() // 3 + 2
    if type(value) in (str, bytes, bytearray):
        return 4 * len(value) + 3  # escapes can quadruple a character
    return 24


def _check_depth(value: Any) -> None:
    """Raise ``ValueError`` when containers nest deeper than :data:`MAX_DEPTH`."""
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        level = [
            item
            for container in level
            if type(container) in (list, tuple, set, frozenset, dict)
            for item in (
                [*container.keys(), *container.values()] if type(container) is dict else container
            )
        ]
        if not level:
            return
    raise ValueError(_NOT_PLAIN)
