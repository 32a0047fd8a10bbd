"""Realizing plain data in one pass: the record :func:`.capture.realize_value` makes, cheaper.

Most captured values are plain data: ``None``, booleans, ints, floats, ``str`` and ``bytes``
in exact ``dict`` (with ``str`` keys), ``list`` and ``tuple`` containers -- an HTTP request's
headers and body, a JSON document, the arguments of most calls. The general path realizes
each value with two walks written for any object (redaction of a copy unpickled from the
snapshot, then the preview; see :mod:`.capture`), which costs several times what such a value
needs. :func:`realize_plain` walks it once, and makes exactly the record the general path
would, or gives up (``None``) as soon as the value is anything else or needs more than the
plain case: an object or a subclass anywhere, a key that names a secret (redaction), a limit
of the preview reached (a cut container, the depth, the node or character allowance), a
non-finite float or an int too large to show, a value over the budget. The general path then
realizes it as before; tests/tracking/test_plain_values.py checks that both make the same
record.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .preview import MAX_DEPTH, MAX_ITEMS, MAX_STR
from .safe_pickle import TypeRules, dumps

_INT_BITS = 4000  # preview._MAX_INT_BITS: larger ints are shown by size (general path)
NAMES_CACHED = 4096  # key verdicts remembered per secret pattern (keys repeat: headers, JSON)
_TOP = frozenset({type(None), bool, int, float, str, bytes, dict, list, tuple})


class _NotPlain(Exception):
    """Internal: the value needs the general path (raised and caught in this module)."""


class _Walk:
    """One preview, with :class:`.preview.Previewer`'s allowances (see there)."""

    __slots__ = ("chars_left", "max_str", "nodes_left", "secret", "verdicts")

    def __init__(self, budget: int, secret: re.Pattern[str]) -> None:
        self.max_str = max(16, min(MAX_STR, budget // 4))
        self.nodes_left = max(64, budget // 16)
        self.chars_left = max(1024, budget)
        self.secret = secret
        verdicts = _verdicts.get(secret)
        if verdicts is None:
            verdicts = _verdicts[secret] = {}
        self.verdicts = verdicts

    def is_secret(self, key: str) -> bool:
        """Whether the pattern finds a secret in ``key`` (searching it costs about a
        microsecond for a header-like name; the verdict is remembered)."""
        verdict = self.verdicts.get(key)
        if verdict is None:
            verdict = self.secret.search(key) is not None
            if len(self.verdicts) < NAMES_CACHED:
                self.verdicts[key] = verdict
        return verdict

    def walk(self, obj: Any, depth: int) -> Any:
        self.nodes_left -= 1
        kind = type(obj)
        if kind is str:
            # Previewer.text, in the regime where its limit is max_str (else: general path)
            size = len(obj)
            max_str = self.max_str
            if self.chars_left <= max_str:
                raise _NotPlain
            if size <= max_str:
                self.chars_left -= size
                return obj
            self.chars_left -= max_str
            return obj[:max_str] + f"… [{size} chars]"
        if obj is None or kind is bool:
            return obj
        if kind is int:
            if obj.bit_length() > _INT_BITS:
                raise _NotPlain
            return obj
        if kind is float:
            if not math.isfinite(obj):
                raise _NotPlain
            return obj
        if kind is bytes:
            return {"__type__": "bytes", "size": len(obj), "repr": repr(obj[:200])}
        if depth >= MAX_DEPTH or self.nodes_left <= 0 or self.chars_left <= 0:
            raise _NotPlain  # a summary instead of the items (or a cycle): general path
        if kind is dict:
            if len(obj) > MAX_ITEMS:
                raise _NotPlain
            out: dict[str, Any] = {}
            verdicts = self.verdicts
            for key, item in obj.items():
                if self.nodes_left <= 0 or type(key) is not str:
                    raise _NotPlain
                secret = verdicts.get(key)
                if secret is None:
                    secret = self.is_secret(key)
                if secret:
                    raise _NotPlain
                out[key] = self.walk(item, depth + 1)
            return out
        if kind is list or kind is tuple:
            if len(obj) > MAX_ITEMS:
                raise _NotPlain
            items = []
            for item in obj:
                if self.nodes_left <= 0:
                    raise _NotPlain
                items.append(self.walk(item, depth + 1))
            return items
        raise _NotPlain


# secret pattern -> {key: whether it names a secret} (a process uses one or two patterns)
_verdicts: dict[re.Pattern[str], dict[str, bool]] = {}


def realize_plain(
    value: Any, budget: int, secret: re.Pattern[str], rules: TypeRules
) -> tuple[Any, bytes] | None:
    """The preview and the serialized copy (its blob) that the general path makes of
    ``value`` when it is plain data that needs none of its extra work (see the module
    docstring); ``None`` otherwise. Never raises."""
    kind = type(value)
    if kind not in _TOP:
        return None
    if (kind is str or kind is bytes) and len(value) > budget // 4:
        return None  # maybe past the budget once encoded: the general path measures it
    try:
        preview = _Walk(budget, secret).walk(value, 0)
        dumped = dumps(value, budget, rules)
    except Exception:
        return None  # _NotPlain, OverBudget, RecursionError ...
    if dumped.opaque:
        return None
    return preview, dumped.blob
