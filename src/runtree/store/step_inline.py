"""The compact inline layout of a small captured value, kept in its step's row.

A captured value whose serialized original is at most :data:`INLINE_BLOB_MAX` bytes (and not
truncated: :func:`is_inline`) is stored in its step row's ``payloads`` column as a JSON list
(:func:`inline`) rather than in a ``step_payloads`` row of its own, which costs about three
times its content. :func:`from_inline` reads such a list back as the payload-row mapping, in
either layout: the current one (migration 0015) or the one written before it, since stored
rows are not rewritten. A list edited by hand is untrusted: a malformed one raises
:class:`InvalidDataError`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidDataError
from ..models import PayloadKind

INLINE_BLOB_MAX = 256
"""The largest serialized original (bytes) kept in the step row; larger ones get a row."""

# An inline value is a JSON list in this order, trailing nulls left out (at least the first
# four kept): ``code`` is the kind's index in KINDS plus 4 x the flags (truncated 1, redacted
# 2); ``blob`` is base64; ``size`` is null when it is the blob's length and ``format`` null
# when it is "pickle", as they are for almost every value (migration 0015).
INLINE_FIELDS = (
    "code",
    "name",
    "position",
    "preview",
    "blob",
    "value_type",
    "length",
    "size",
    "format",
    "sha256",
    "warning",
)
KINDS = (PayloadKind.INPUT.value, PayloadKind.OUTPUT.value, PayloadKind.FIRST_YIELD.value)
"""The payload kinds in the order of their codes (a code modulo 4 is the index)."""
_KIND_CODES = {kind: index for index, kind in enumerate(KINDS)}
DEFAULT_FORMAT = "pickle"
"""The format an inline list leaves out (null) in the current layout."""
MIN_INLINE = 4
"""The fewest items of an inline list in the current layout (trailing nulls past them go)."""
# The layout written before migration 0015 (still read: rows are not rewritten): the kind
# and format as strings, the size always, flags apart.
V1_FIELDS = (
    "kind",
    "name",
    "position",
    "preview",
    "size",
    "format",
    "flags",
    "blob",
    "value_type",
    "length",
    "sha256",
    "warning",
)
TRUNCATED, REDACTED = 1, 2
"""The flag bits of an inline value (in its code, or the old layout's ``flags`` item)."""
_STRING_COLUMNS = frozenset({"name", "format", "value_type", "sha256", "warning"})


def is_inline(payload: Mapping[str, Any]) -> bool:
    """Whether a payload row's value is kept in its step's row: not truncated (a truncated
    value was big) and a serialized original of at most :data:`INLINE_BLOB_MAX` bytes."""
    blob = payload["blob"]
    return not payload["truncated"] and (blob is None or len(blob) <= INLINE_BLOB_MAX)


def inline(payload: Mapping[str, Any]) -> list[Any]:
    """A payload row (as :func:`.step_encode.encode_step` builds it) as its compact inline list."""
    flags = (TRUNCATED if payload["truncated"] else 0) | (REDACTED if payload["redacted"] else 0)
    blob = payload["blob"]
    size = payload["size"]
    format_ = _clean(payload["format"])
    values = {
        **payload,
        "code": _KIND_CODES[payload["kind"]] + 4 * flags,
        "blob": None if blob is None else base64.b64encode(blob).decode("ascii"),
        "size": None if blob is not None and size == len(blob) else size,
        "format": None if format_ == DEFAULT_FORMAT else format_,
    }
    entry = [
        _clean(values[field]) if field in _STRING_COLUMNS else values[field]
        for field in INLINE_FIELDS
    ]
    while len(entry) > MIN_INLINE and entry[-1] is None:
        entry.pop()
    return entry


def _clean(value: Any) -> Any:
    """Strings as a payload row's string columns store them (NUL as U+FFFD, see
    ``schema.CleanString``), so a value reads back the same inline or not."""
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\ufffd")
    return value


def from_inline(entry: Any, *, blobs: bool = True) -> dict[str, Any]:
    """An inline list back to the mapping of a payload row (``blob`` decoded, or ``None``
    without ``blobs``). The list was written by :func:`inline` (or in the layout before
    migration 0015, whose first item is the kind's name); a malformed one (edited by hand)
    raises :class:`InvalidDataError`."""
    if isinstance(entry, list) and entry and isinstance(entry[0], str):
        return _from_v1(entry, blobs)
    if (
        not isinstance(entry, list)
        or not MIN_INLINE <= len(entry) <= len(INLINE_FIELDS)
        or not isinstance(entry[0], int)
        or isinstance(entry[0], bool)
        or not 0 <= entry[0] < 4 * 4
        or entry[0] % 4 >= len(KINDS)
    ):
        raise InvalidDataError(f"malformed inline step value {entry!r:.80}")
    code, name, position, preview, *rest = entry
    rest += [None] * (len(INLINE_FIELDS) - MIN_INLINE - len(rest))
    text, value_type, length, size, format_, sha256, warning = rest
    blob = decode_blob(text) if text is not None and blobs else None
    if size is None:  # the blob's length, from its base64 text (no need to decode it)
        size = len(text) * 3 // 4 - text.count("=", -2) if isinstance(text, str) else 0
    flags = code // 4
    return {
        "kind": KINDS[code % 4],
        "name": name,
        "position": position,
        "preview": preview,
        "size": size,
        "format": DEFAULT_FORMAT if format_ is None else format_,
        "truncated": bool(flags & TRUNCATED),
        "redacted": bool(flags & REDACTED),
        "blob": blob if blobs else None,
        "value_type": value_type,
        "length": length,
        "sha256": sha256,
        "warning": warning,
    }


def decode_blob(text: Any) -> bytes:
    """An inline list's base64 blob text as bytes; anything else raises
    :class:`InvalidDataError` (the list may have been edited by hand)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise InvalidDataError("malformed inline step value: blob is not base64") from exc


def _from_v1(entry: list[Any], blobs: bool) -> dict[str, Any]:
    """An inline list in the layout written before migration 0015."""
    if not 7 <= len(entry) <= len(V1_FIELDS):
        raise InvalidDataError(f"malformed inline step value {entry!r:.80}")
    kind, name, position, preview, size, format_, flags, *rest = entry
    rest += [None] * (len(V1_FIELDS) - 7 - len(rest))
    blob, value_type, length, sha256, warning = rest
    if blob is not None and blobs:
        blob = decode_blob(blob)
    return {
        "kind": kind,
        "name": name,
        "position": position,
        "preview": preview,
        "size": size,
        "format": format_,
        "truncated": bool(flags & TRUNCATED),
        "redacted": bool(flags & REDACTED),
        "blob": blob if blobs else None,
        "value_type": value_type,
        "length": length,
        "sha256": sha256,
        "warning": warning,
    }
