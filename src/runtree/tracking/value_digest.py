"""Scalar values as the value index sees them: normalised, and hashed without a key.

The value index (:mod:`runtree.store.value_index`) stores, for every scalar a step handled,
``HMAC(key, prehash(value))``: the keyed hash of an *unkeyed* SHA-256 of the value's
normalised form. The split lets the one process that sees a redacted value in clear -- the
sandboxed worker, where the user's code runs -- contribute it to the index without ever
holding the index's key: the worker sends :func:`prehash` digests of the scalars it redacted
(:func:`hidden_digests`), the server keys them and stores only the keyed result. The key
stays in the server; a user's code, which shares its process with the worker's code, could
read anything the worker holds, so the worker holds nothing secret.

An unkeyed digest of a low-entropy value (a customer id, a short password) can be tested
against guesses, so prehashes only travel the worker's pipe to its supervisor: they are
never stored, shown or exported (:meth:`~runtree.tracking.capture.Captured.to_dict` emits
them only for the server).

This module is imported by the worker and by the server: it must stay free of everything
but the standard library.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

MAX_VALUE_CHARS = 256
"""Longer strings are not indexed (nor searchable)."""

PREHASH_BYTES = 16
"""A prehash is SHA-256 cut to 128 bits (sent as 32 hex digits)."""

MAX_HIDDEN_DIGESTS = 100
"""At most this many prehashes of redacted scalars travel with one captured value."""

MAX_KEY_CHARS = 200
"""The name a scalar was found under is cut to this many characters."""

_REDACTED = "[redacted]"
_TRUNCATED = re.compile(r"… \[\d+ chars\]\Z")
_MORE = re.compile(r"… \d+ more\Z")
_MAX_DEPTH = 16


def normalise(value: object) -> tuple[str, str] | None:
    """``(tag, text)`` of a scalar as it is hashed, or ``None`` when it is not indexed.

    A string is NFC-normalised, trimmed and case-folded; a number is written in its
    shortest exact decimal form, integral floats as integers (``42``, ``42.0``); booleans,
    ``None``, non-finite floats and strings longer than :data:`MAX_VALUE_CHARS` are not
    indexed."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return "n", str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer():
            return "n", str(int(value))
        return "n", repr(value)
    if isinstance(value, str):
        text = unicodedata.normalize("NFC", value).strip().casefold()
        if not text or len(text) > MAX_VALUE_CHARS:
            return None
        return "s", text
    return None


def message(tag: str, text: str) -> bytes:
    """The bytes a normalised scalar is hashed as."""
    return tag.encode("ascii") + b"\0" + text.encode("utf-8")


def prehash(tag: str, text: str) -> bytes:
    """The unkeyed digest of a normalised scalar (what the server keys)."""
    return hashlib.sha256(message(tag, text)).digest()[:PREHASH_BYTES]


def preview_scalars(preview: Any, key: str, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """``(name, scalar)`` for every indexable scalar of a stored preview, ``name`` being the
    parameter, mapping key or object field nearest to it (``key`` at the top). A preview's
    own marks (``[redacted]``, cut strings, ``… N more``, ``__type__``) are not values."""
    if isinstance(preview, str):
        if preview != _REDACTED and not _TRUNCATED.search(preview) and not _MORE.search(preview):
            yield key, preview
    elif isinstance(preview, (int, float)) and not isinstance(preview, bool):
        yield key, preview
    elif depth > _MAX_DEPTH:
        return
    elif isinstance(preview, Mapping):
        for name, item in preview.items():
            if name != "__type__" and isinstance(name, str):
                yield from preview_scalars(item, name[:MAX_KEY_CHARS], depth + 1)
    elif isinstance(preview, list):
        for item in preview:
            yield from preview_scalars(item, key, depth + 1)


def hidden_digests(clear: Iterable[tuple[str, Any]]) -> tuple[tuple[str, str], ...]:
    """``(name, prehash hex)`` of the scalars in the clear previews of redacted values
    (``(name, preview)`` pairs: the secret's name and its preview before redaction), each
    pair once, at most :data:`MAX_HIDDEN_DIGESTS`."""
    found: dict[tuple[str, str], None] = {}
    for name, preview in clear:
        for key, scalar in preview_scalars(preview, name[:MAX_KEY_CHARS]):
            normal = normalise(scalar)
            if normal is not None:
                found[(key, prehash(*normal).hex())] = None
                if len(found) >= MAX_HIDDEN_DIGESTS:
                    return tuple(found)
    return tuple(found)
