"""How deep JSON may nest, at every entry into runtree.

Deeply nested JSON is cheap to send and expensive everywhere after: every recursive encoder,
validator and renderer on its way (``json``, pydantic, the store, the UI) can hit Python's
recursion limit. So every JSON value runtree accepts -- API inputs, webhook bodies, schedule
inputs, CLI inputs, and everything a worker process reports -- is parsed with
:func:`loads` or checked with :func:`check_depth` against :data:`MAX_JSON_DEPTH`, and refused
with :class:`JsonTooDeep`, which names the limit.

Depth counts containers: ``1`` and ``"a"`` have depth 0, ``[]`` and ``{"a": 1}`` depth 1,
``[[1]]`` depth 2.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import JsonTooDeep

MAX_JSON_DEPTH = 64
# What the store keeps and every reader handles (a step's nested aggregate rows can be deeper
# than an input may be): below pydantic's serializer limit (~254 levels with the response
# around it) and Python's JSON parser's (~1000).
MAX_STORED_DEPTH = 200


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON: dicts, lists and scalars; tuples count as lists) nests
    deeper than ``limit``. Iterative: any depth is measured without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if level > limit:
            return True
        for child in children:
            if isinstance(child, dict | list | tuple):
                stack.append((child, level + 1))
    return False


def check_depth(value: Any, what: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`JsonTooDeep` naming ``what`` when ``value`` nests deeper than ``limit``."""
    if too_deep(value, limit):
        raise JsonTooDeep(what, limit)


def loads(data: str | bytes, what: str, limit: int = MAX_JSON_DEPTH, **options: Any) -> Any:
    """``json.loads(data, **options)``, refusing (:class:`JsonTooDeep`) values that nest
    deeper than ``limit`` -- also those too deep for the parser itself (which would raise
    ``RecursionError``). Other errors are ``json.loads``'s own (``ValueError``)."""
    try:
        value = json.loads(data, **options)
    except RecursionError:
        raise JsonTooDeep(what, limit) from None
    check_depth(value, what, limit)
    return value


# What is shown instead of a stored value that nests too deeply (stored before the limits
# existed, or unreadable by the JSON parser itself): readers never fail on a stored row.
TOO_DEEP_SHOWN = f"[not shown: nests deeper than {MAX_STORED_DEPTH} levels]"


def shown(value: Any, limit: int = MAX_STORED_DEPTH) -> Any:
    """``value``, or :data:`TOO_DEEP_SHOWN` when it nests deeper than ``limit``."""
    return TOO_DEEP_SHOWN if too_deep(value, limit) else value


def loads_stored(text: str | bytes) -> Any:
    """``json.loads`` for stored documents: one too deep for the parser reads as
    :data:`TOO_DEEP_SHOWN` instead of failing the whole query."""
    try:
        return json.loads(text)
    except RecursionError:
        return TOO_DEEP_SHOWN
