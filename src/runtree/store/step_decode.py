"""Step rows back to step records.

:func:`decode_step` puts a step back together, in the dict shape a worker sent
(:mod:`.step_encode`), from its ``steps`` row and its values: those inline in the row
(:mod:`.step_inline`) and those in ``step_payloads`` rows. Keys kept in the row's ``extra``
column come back as they were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models import PayloadKind, StepRecord, StepStatus
from .step_inline import (
    DEFAULT_FORMAT,
    INLINE_FIELDS,
    KINDS,
    MIN_INLINE,
    REDACTED,
    TRUNCATED,
    V1_FIELDS,
    decode_blob,
    from_inline,
)


def _payload_order(payload: Mapping[Any, Any]) -> tuple[str, int]:
    return payload["kind"], payload["position"]


def decode_captured(payload: Mapping[Any, Any]) -> dict[str, Any]:
    """A payload row (as a mapping; ``blob`` optional) back to the captured-value dict."""
    data: dict[str, Any] = {
        "preview": payload["preview"],
        "size": payload["size"],
        "format": payload["format"],
        "truncated": bool(payload["truncated"]),
        "redacted": bool(payload["redacted"]),
    }
    if payload["sha256"] is not None:
        data["sha256"] = payload["sha256"]
    if payload["warning"] is not None:
        data["warning"] = payload["warning"]
    if payload.get("value_type") is not None:
        data["type"] = payload["value_type"]
    if payload.get("length") is not None:
        data["length"] = payload["length"]
    blob = payload.get("blob")
    if blob is not None:
        data["blob"] = bytes(blob)
    return data


def decode_step(
    execution_id: str,
    row: Mapping[Any, Any],
    payloads: Sequence[Mapping[Any, Any]],
    *,
    blobs: bool = True,
) -> StepRecord:
    """A step row and its payload rows back to a :class:`StepRecord`; the row's inline values
    (``row["payloads"]``) and ``payloads`` together are its captured values (with their
    serialized originals only when ``blobs``)."""
    inputs: dict[str, dict[str, Any]] = {}
    output: dict[str, Any] | None = None
    first: dict[str, Any] | None = None
    inline_values = row.get("payloads")
    if payloads:
        if inline_values:
            # Values of both kinds: put them in order. Inline inputs are in parameter order
            # (inline() keeps encode_step's order).
            inlined = [from_inline(value, blobs=blobs) for value in inline_values]
            payloads = sorted([*inlined, *payloads], key=_payload_order)
        captured = [_from_row(payload) for payload in payloads]
    else:
        # Only inline values (most steps): straight from their lists, in their order.
        captured = [_inline_captured(value, blobs) for value in inline_values or ()]
    for kind, name, value in captured:
        if kind == PayloadKind.INPUT:
            inputs[name] = value
        elif kind == PayloadKind.OUTPUT:
            output = value
        elif kind == PayloadKind.FIRST_YIELD:
            first = value
    generator = row["generator"]
    if generator is not None:
        generator = {**generator, "first": first}
    warnings, aggregates, extra = row["warnings"], row["aggregates"], row["extra"]
    return StepRecord(
        execution_id=execution_id,
        id=row["id"],
        parent_id=row["parent_id"],
        sequence=row["sequence"],
        depth=row["depth"],
        name=row["name"],
        filename=row["filename"],
        lineno=row["lineno"],
        function=row["function"],
        version=row["version"],
        status=StepStatus(row["status"]),
        started_at_ns=row["started_at_ns"],
        duration_ns=row["duration_ns"],
        inputs=inputs,
        output=output,
        error=row["error"],
        stdout=row["stdout"],
        stdout_truncated=bool(row["stdout_truncated"]),
        # The row's own lists and dict (freshly parsed) when they are what they should be.
        warnings=warnings if type(warnings) is list else list(warnings or ()),
        aggregates=aggregates if type(aggregates) is list else list(aggregates or ()),
        generator=generator,
        extra=dict(extra or {}),
    )


def _inline_captured(entry: Any, blobs: bool) -> tuple[str, str, dict[str, Any]]:
    """An inline list's kind, name and captured-value dict: ``decode_captured(from_inline(
    entry, blobs=blobs))`` without the payload-row dict in between (a step has several)."""
    if type(entry) is not list or not entry:
        return _from_row(from_inline(entry, blobs=blobs))  # raises for a malformed one
    code = entry[0]
    if type(code) is str:
        return _v1_captured(entry, blobs)
    if (
        type(code) is not int
        or not MIN_INLINE <= len(entry) <= len(INLINE_FIELDS)
        or not 0 <= code < 16
        or code % 4 >= len(KINDS)
    ):
        return _from_row(from_inline(entry, blobs=blobs))  # raises for a malformed one
    _code, name, _position, preview, *rest = entry
    rest += [None] * (len(INLINE_FIELDS) - MIN_INLINE - len(rest))
    text, value_type, length, size, format_, sha256, warning = rest
    if size is None:  # the blob's length, from its base64 text
        size = len(text) * 3 // 4 - text.count("=", -2) if type(text) is str else 0
    flags = code // 4
    data: dict[str, Any] = {
        "preview": preview,
        "size": size,
        "format": DEFAULT_FORMAT if format_ is None else format_,
        "truncated": bool(flags & TRUNCATED),
        "redacted": bool(flags & REDACTED),
    }
    _add_present(data, sha256, warning, value_type, length)
    if text is not None and blobs:
        data["blob"] = decode_blob(text)
    return KINDS[code % 4], name, data


def _v1_captured(entry: list[Any], blobs: bool) -> tuple[str, str, dict[str, Any]]:
    """:func:`_inline_captured` for a list in the layout before migration 0015."""
    if not 7 <= len(entry) <= len(V1_FIELDS):
        return _from_row(from_inline(entry, blobs=blobs))  # raises for a malformed one
    kind, name, _position, preview, size, format_, flags, *rest = entry
    data: dict[str, Any] = {
        "preview": preview,
        "size": size,
        "format": format_,
        "truncated": bool(flags & TRUNCATED),
        "redacted": bool(flags & REDACTED),
    }
    if rest:
        rest += [None] * (len(V1_FIELDS) - 7 - len(rest))
        blob, value_type, length, sha256, warning = rest
        _add_present(data, sha256, warning, value_type, length)
        if blob is not None and blobs:
            data["blob"] = decode_blob(blob)
    return kind, name, data


def _add_present(
    data: dict[str, Any], sha256: Any, warning: Any, value_type: Any, length: Any
) -> None:
    """Add a captured value's optional fields that an inline list holds, in the order
    :func:`decode_captured` gives them (both inline layouts)."""
    if sha256 is not None:
        data["sha256"] = sha256
    if warning is not None:
        data["warning"] = warning
    if value_type is not None:
        data["type"] = value_type
    if length is not None:
        data["length"] = length


def _from_row(payload: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    return payload["kind"], payload["name"], decode_captured(payload)
