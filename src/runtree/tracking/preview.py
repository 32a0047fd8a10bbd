"""Previews: a bounded, JSON-safe rendering of a captured value, made without running its code.

A preview is for reading (the serialized copy is for replay). It is built by walking the value
with the same rule as :mod:`.safe_pickle`: builtin containers (and their subclasses) are read
through the builtin types' own C methods, other objects through their raw ``__dict__`` and
``__slots__``; no ``__repr__``, ``__iter__``, ``__len__``, ``__eq__``, ``__hash__``, property or
``__getattr__`` of any class is called. ``repr()`` is used only for a fixed set of standard
library types whose ``repr`` cannot reach other objects (dates, decimals, UUIDs, paths ...).

The walk is bounded whatever the value: at most :data:`MAX_ITEMS` items per container,
:data:`MAX_DEPTH` levels, and a total node and character allowance derived from the value
budget. Marks: long strings end in ``… [N chars]``, long containers get a ``"… N more"`` item
(N exact), objects are ``{"__type__": "module.Class", field: ...}``, a container met again on
its own path is ``{"__type__": ..., "cycle": true}``, one past the depth limit
``{"__type__": ..., "len": N}``. Mapping keys and object fields whose name is a secret are
replaced by ``[redacted]``.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import ipaddress
import math
import pathlib
import re
import types
import uuid
from itertools import islice
from typing import Any

from .raw_state import Opaque, raw_dict, raw_slots, type_name
from .safe_pickle import TypeRules

MAX_ITEMS = 100
MAX_DEPTH = 8
MAX_STR = 2000
REDACTED = "[redacted]"
_MAX_INT_BITS = 4000  # larger ints are shown by size (str() of them is quadratic, and capped)

# Standard library types whose repr shows only their own scalar state.
_SAFE_REPR: frozenset[type] = frozenset(
    {
        complex,
        range,
        datetime.date,
        datetime.timedelta,
        datetime.timezone,
        decimal.Decimal,
        fractions.Fraction,
        uuid.UUID,
        pathlib.PurePosixPath,
        pathlib.PureWindowsPath,
        pathlib.PosixPath,
        pathlib.WindowsPath,
        ipaddress.IPv4Address,
        ipaddress.IPv6Address,
        ipaddress.IPv4Network,
        ipaddress.IPv6Network,
        re.Pattern,
    }
)
_NAIVE_OR_FIXED = (datetime.datetime, datetime.time)  # safe when tzinfo is a stdlib timezone
_SCALAR_KEYS = (int, float, bool, type(None), str)


class Previewer:
    """Builds one preview; ``redacted`` tells whether a secret was replaced on the way."""

    def __init__(
        self, budget: int, secret: re.Pattern[str] | None, rules: TypeRules | None
    ) -> None:
        self.max_str = max(16, min(MAX_STR, budget // 4))
        self.nodes_left = max(64, budget // 16)
        self.chars_left = max(1024, budget)
        self.secret = secret
        self.rules = rules
        self.redacted = False
        self.path: set[int] = set()
        # (name, value) of every secret replaced, when the caller collects them
        self.hidden: list[tuple[str, Any]] | None = None

    def is_secret(self, name: object) -> bool:
        if type(name) is str and self.secret is not None and self.secret.search(name):
            self.redacted = True
            return True
        return False

    def secret_or_walk(self, name: object, item: Any, depth: int) -> Any:
        """``item``'s preview, or :data:`REDACTED` when ``name`` is a secret (kept in
        ``hidden`` then, for the value index)."""
        if not self.is_secret(name):
            return self.walk(item, depth + 1)
        if self.hidden is not None:
            self.hidden.append((str(name), item))
        return REDACTED

    def text(self, value: str) -> str:
        limit = min(self.max_str, max(16, self.chars_left))
        self.chars_left -= min(len(value), limit)
        return value if len(value) <= limit else value[:limit] + f"… [{len(value)} chars]"

    def walk(self, obj: Any, depth: int) -> Any:
        self.nodes_left -= 1
        kind = type(obj)
        if obj is None or kind is bool:
            return obj
        if kind is int:
            return (
                obj
                if obj.bit_length() <= _MAX_INT_BITS
                else {"__type__": "int", "bits": obj.bit_length()}
            )
        if kind is float:
            return obj if math.isfinite(obj) else repr(obj)
        if kind is str:
            return self.text(obj)
        if kind in (bytes, bytearray):
            return {"__type__": kind.__name__, "size": len(obj), "repr": repr(obj[:200])}
        if kind is memoryview:
            return {"__type__": "memoryview", "size": obj.nbytes}
        if kind in _SAFE_REPR or (kind in _NAIVE_OR_FIXED and _stdlib_tz(obj)):
            return {"__type__": type_name(kind), "repr": self.text(repr(obj))}
        if issubclass(kind, type):
            return {"__type__": "type", "name": type_name(obj)}
        if kind in (types.FunctionType, types.BuiltinFunctionType):
            return {"__type__": kind.__name__, "name": _function_name(obj)}
        if kind is types.ModuleType:
            name = (raw_dict(obj) or {}).get("__name__")
            return {"__type__": "module", "name": name if type(name) is str else "?"}
        if kind is Opaque:
            shown = {"__type__": obj.type_name}
            if obj.state:
                shown.update(self.fields(obj.state, depth))
            return shown
        if issubclass(type(kind), enum.EnumMeta):
            state = raw_dict(obj) or {}
            return {"__type__": type_name(kind), "member": self.walk(state.get("_name_"), depth)}
        if depth >= MAX_DEPTH or self.nodes_left <= 0 or self.chars_left <= 0:
            return self.summary(obj, kind, "len")
        key = id(obj)
        if key in self.path:
            return self.summary(obj, kind, "cycle")
        self.path.add(key)
        try:
            return self.container_or_object(obj, kind, depth)
        finally:
            self.path.discard(key)

    def container_or_object(self, obj: Any, kind: type, depth: int) -> Any:
        if issubclass(kind, dict):
            out: dict[str, Any] = {}
            size = dict.__len__(obj)
            for index, (key, item) in enumerate(dict.items(obj)):
                if index >= MAX_ITEMS or self.nodes_left <= 0:
                    out["…"] = f"{size - index} more"
                    break
                name = key if type(key) is str else self.key_text(key)
                out[name] = self.secret_or_walk(key, item, depth)
            return out
        if issubclass(kind, list | tuple):
            base: Any = list if issubclass(kind, list) else tuple
            return self.items(base.__iter__(obj), base.__len__(obj), depth)
        if issubclass(kind, set | frozenset):
            base = set if issubclass(kind, set) else frozenset
            size = base.__len__(obj)
            members = list(islice(base.__iter__(obj), MAX_ITEMS + 1))
            if size <= MAX_ITEMS:
                members = _sorted_scalars(members)
            return self.items(iter(members), size, depth)
        if issubclass(kind, str):
            return self.text(str.__str__(obj))
        if issubclass(kind, int) and not issubclass(kind, bool):
            return self.walk(int.__int__(obj), depth)
        if issubclass(kind, float):
            return self.walk(float.__float__(obj), depth)
        fields = dict(raw_dict(obj) or {})
        fields.update(raw_slots(obj))
        shown: dict[str, Any] = {"__type__": type_name(kind)}
        if issubclass(kind, BaseException):
            shown["args"] = self.walk(BaseException.__dict__["args"].__get__(obj), depth + 1)
        elif not fields and self.rules is not None and self.rules.trusts_type(kind):
            collection = self.trusted_collection(obj, kind, depth)
            if collection is not None:
                shown.update(collection)
        shown.update(self.fields(fields, depth))
        return shown

    def trusted_collection(self, obj: Any, kind: type, depth: int) -> dict[str, Any] | None:
        """Items of an allow-listed collection type (a deque, an array ...): its own sized,
        re-iterable ``__iter__`` may run; iterators are never consumed."""
        if not all(_has(kind, name) for name in ("__len__", "__iter__")) or _has(kind, "__next__"):
            return None
        try:
            size = len(obj)
            return {"len": size, "items": self.items(iter(obj), size, depth)}
        except Exception:
            return None

    def items(self, iterator: Any, size: int, depth: int) -> list[Any]:
        result = []
        for index, item in enumerate(iterator):
            if index >= MAX_ITEMS or self.nodes_left <= 0:
                result.append(f"… {size - index} more")
                break
            result.append(self.walk(item, depth + 1))
        return result

    def fields(self, fields: dict[str, Any], depth: int) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for index, (name, item) in enumerate(fields.items()):
            if index >= MAX_ITEMS or self.nodes_left <= 0:
                shown["…"] = f"{len(fields) - index} more"
                break
            label = name if type(name) is str else self.key_text(name)
            shown[label] = self.secret_or_walk(name, item, depth)
        return shown

    def key_text(self, key: Any) -> str:
        if type(key) is int and key.bit_length() > _MAX_INT_BITS:
            return f"<int of {key.bit_length()} bits>"
        if type(key) in _SCALAR_KEYS:
            return self.text(repr(key))
        return f"<{type_name(type(key))}>"

    def summary(self, obj: Any, kind: type, mark: str) -> dict[str, Any]:
        shown: dict[str, Any] = {"__type__": type_name(kind)}
        if mark == "cycle":
            shown["cycle"] = True
            return shown
        for base in (dict, list, tuple, set, frozenset):
            if issubclass(kind, base):
                shown["len"] = base.__len__(obj)
                return shown
        shown["depth"] = "…"
        return shown


def _stdlib_tz(obj: Any) -> bool:
    tzinfo = obj.tzinfo  # a C getter of datetime/time
    return tzinfo is None or type(tzinfo) is datetime.timezone


def _function_name(function: Any) -> str:
    module = function.__module__  # C members of functions and builtins
    qualname = function.__qualname__
    return qualname if module in (None, "builtins") else f"{module}.{qualname}"


def _has(kind: type, name: str) -> bool:
    return any(name in vars(klass) for klass in kind.__mro__)


def _sorted_scalars(items: list[Any]) -> list[Any]:
    """Sorted when every item is an exact ``str``, or every one an exact ``int``/``float``
    (so no ``__lt__`` of the program's runs); in iteration order otherwise."""
    kinds = {type(item) for item in items}
    if kinds <= {str} or kinds <= {int, float}:
        return sorted(items)
    return items


def make_preview(
    value: Any,
    budget: int,
    secret: re.Pattern[str] | None = None,
    rules: TypeRules | None = None,
    hidden: list[tuple[str, Any]] | None = None,
) -> tuple[Any, bool]:
    """The preview of ``value`` within ``budget`` and whether a secret was redacted in it
    (each one appended to ``hidden`` as ``(name, value)``, when given)."""
    previewer = Previewer(budget, secret, rules)
    previewer.hidden = hidden
    return previewer.walk(value, 0), previewer.redacted
