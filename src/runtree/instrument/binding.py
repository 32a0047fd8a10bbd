"""``bind_hooks()``: compiled instrumented code loads runtree's hooks as constants.

The rewrite (:mod:`.transform`) names the hooks (``__runtree_on__``, ``__runtree_enter__``,
...), so the compiler emits ``LOAD_GLOBAL`` for them: a lookup in the function's globals, then
its builtins. Code run with a ``__builtins__`` mapping of its own (a sandbox,
``types.FunctionType(code, {"__builtins__": {...}})``) would then fail with ``NameError``
where the original code works, and the hook names would show in ``co_names`` (so in
``inspect.getclosurevars``). This pass replaces, in every code object (nested ones too), each
``LOAD_GLOBAL`` of a hook name with a ``LOAD_CONST`` of the hook object itself, appended to
``co_consts``, and drops the names from ``co_names``:

* code sizes stay exactly the same (the load is padded: a ``JUMP_FORWARD`` over ``NOP``s,
  one dispatch), so jump targets, the line table and the exception table stay valid as the
  compiler made them;
* ``LOAD_GLOBAL``'s ``NULL`` for a call becomes a ``PUSH_NULL`` before the constant (3.11,
  3.12) or after it (3.13), as each version's ``CALL`` expects;
* the name operands of the other instructions are renumbered in place, in as many code
  units as before (their indexes only get smaller).

The hook objects are ordinary constants: ``hash``, ``==``, ``copy`` and ``code.replace()``
work as before. ``marshal.dumps`` refuses the code (marshal knows no functions); nothing in
runtree marshals instrumented code (the zygote shares it with its children by ``fork``).
"""

from __future__ import annotations

import dis
import opcode
import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any

_LOAD_GLOBAL = dis.opmap["LOAD_GLOBAL"]
_LOAD_CONST = dis.opmap["LOAD_CONST"]
_PUSH_NULL = dis.opmap["PUSH_NULL"]
_NOP = dis.opmap["NOP"]
_JUMP_FORWARD = dis.opmap["JUMP_FORWARD"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_HAS_NAME = frozenset(op for op in dis.hasname if op < 256)  # (3.12+ lists pseudo-ops too)
# How far a name operand is shifted left (its low bits are flags): as dis decodes them.
_NAME_SHIFT = {_LOAD_GLOBAL: 1}
if sys.version_info >= (3, 12):
    _NAME_SHIFT[dis.opmap["LOAD_ATTR"]] = 1
    _NAME_SHIFT[dis.opmap["LOAD_SUPER_ATTR"]] = 2
# Where LOAD_GLOBAL's NULL goes for a call: below the callable up to 3.12, above it from 3.13.
_NULL_FIRST = sys.version_info < (3, 13)


def _cache_entries() -> bytes:
    """Inline cache code units after each opcode (3.11/3.12: a list by opcode, 3.13: a dict
    by name)."""
    entries: Any = getattr(opcode, "_inline_cache_entries")  # noqa: B009 - private, no stub
    if isinstance(entries, dict):
        return bytes(entries.get(opcode.opname[op], 0) for op in range(256))
    return bytes([*entries, *[0] * (256 - len(entries))][:256])


_CACHES = _cache_entries()


def bind_hooks(code: types.CodeType, hooks: Mapping[str, Any]) -> types.CodeType:
    """``code`` with every global load of a name in ``hooks`` replaced by a constant load of
    its object, in ``code`` and every code object nested in it (a new code object; ``code``
    itself when nothing changed). A name still used otherwise (never by runtree's rewrite)
    keeps its normal lookup."""
    consts = list(code.co_consts)
    nested_changed = False
    for index, const in enumerate(consts):
        if isinstance(const, types.CodeType):
            bound = bind_hooks(const, hooks)
            if bound is not const:
                consts[index] = bound
                nested_changed = True
    names = code.co_names
    if not any(name in hooks for name in names):
        return code.replace(co_consts=tuple(consts)) if nested_changed else code

    raw = bytearray(code.co_code)
    const_index: dict[str, int] = {}
    still_named: set[int] = set()  # name indexes some remaining instruction uses
    operands: list[tuple[int, int, int, int]] = []  # (start, opcode offset, opcode, arg)
    for start, at, op, arg in _instructions(code.co_code):
        if op not in _HAS_NAME:
            continue
        shift = _NAME_SHIFT.get(op, 0)
        name = names[arg >> shift]
        if op == _LOAD_GLOBAL and name in hooks:
            if name not in const_index:
                const_index[name] = len(consts)
                consts.append(hooks[name])
            load = _encoded(_LOAD_CONST, const_index[name], 0)
            if arg & 1:  # the NULL a call needs beside its callable
                null = bytes([_PUSH_NULL, 0])
                load = null + load if _NULL_FIRST else load + null
            end = at + 2 + 2 * _CACHES[op]
            if len(load) <= end - start:
                raw[start:end] = load + _padding((end - start - len(load)) // 2)
                continue
        still_named.add(arg >> shift)
        operands.append((start, at, op, arg))

    kept = [i for i, name in enumerate(names) if name not in hooks or i in still_named]
    renumbered = {old: new for new, old in enumerate(kept)}
    for start, at, op, arg in operands:
        shift = _NAME_SHIFT.get(op, 0)
        flags = arg & ((1 << shift) - 1)
        new_arg = renumbered[arg >> shift] << shift | flags
        if new_arg != arg:
            units = (at + 2 - start) // 2
            encoded = _encoded(op, new_arg, 0)
            # A smaller index may need fewer EXTENDED_ARG prefixes: NOPs take their place
            # (``EXTENDED_ARG 0`` fails an assertion of debug builds of CPython).
            raw[start : at + 2] = bytes([_NOP, 0]) * (units - len(encoded) // 2) + encoded
    return code.replace(
        co_code=bytes(raw),
        co_consts=tuple(consts),
        co_names=tuple(names[i] for i in kept),
    )


def _instructions(co_code: bytes) -> Iterator[tuple[int, int, int, int]]:
    """``(start, at, opcode, arg)`` of each instruction: ``start`` is the offset of its first
    ``EXTENDED_ARG`` prefix (``at`` when it has none), ``at`` its opcode's."""
    start = extended = 0
    at = 0
    while at < len(co_code):
        op = co_code[at]
        arg = co_code[at + 1] | extended
        if op == _EXTENDED_ARG:
            extended = arg << 8
            at += 2
            continue
        yield start, at, op, arg
        at += 2 + 2 * _CACHES[op]
        start = at
        extended = 0


def _padding(units: int) -> bytes:
    """``units`` code units that do nothing, at the cost of one dispatch: a jump over the
    rest (a forward jump within a line: no line event for tracers, as with ``NOP``)."""
    if units < 2:
        return bytes([_NOP, 0]) * units
    return bytes([_JUMP_FORWARD, units - 1]) + bytes([_NOP, 0]) * (units - 1)


def _encoded(op: int, arg: int, prefixes: int) -> bytes:
    """``op arg`` with at least ``prefixes`` ``EXTENDED_ARG`` units before it (more when the
    argument needs them)."""
    while arg >> (8 * (prefixes + 1)):
        prefixes += 1
    units = [(_EXTENDED_ARG, (arg >> (8 * (prefixes - i))) & 0xFF) for i in range(prefixes)]
    units.append((op, arg & 0xFF))
    return bytes(byte for unit in units for byte in unit)
