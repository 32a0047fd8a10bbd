"""Step dicts to rows and back.

A step arrives as ``runtree.tracking.Step.to_dict(include_blobs=True)``. It becomes one
``steps`` row; its captured values (each input, the output, a generator's first yield) are
kept in that row's ``payloads`` column when they are small (:func:`is_inline`: most are, and a
row of their own cost about three times their content), else in a ``step_payloads`` row each.
:func:`decode_step` puts the same dict shape back together from both.

Keys the store does not know are kept in the step's ``extra`` column and come back as they
were, so a newer tracking runtime loses nothing. Also accepted beyond that shape: an optional
``"function"`` key (``"namespace/name"``), and a ``"version"`` that is either a version number
or a ``[function, number]`` pair (so the instrumenter's per-function ``version`` constant may
carry both), and a captured value's ``hidden`` prehashes (for the value index only, never
stored: see :func:`_hidden`). Blobs must be bytes-like; they are stored as they are and never
deserialized here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidDataError
from ..models import STEP_FIELDS, PayloadKind, StepRecord, StepStatus
from ..tracking.value_digest import MAX_HIDDEN_DIGESTS, MAX_KEY_CHARS, PREHASH_BYTES
from .common import check_json

KNOWN_KEYS = frozenset(STEP_FIELDS)
"""Step-dict keys with a column (or payload rows); every other key goes to ``extra``."""

INLINE_BLOB_MAX = 256
"""The largest serialized original (bytes) kept in the step row; larger ones get a row."""

# An inline value is a JSON list in this order, trailing nulls left out (at least the first
# four kept): ``code`` is the kind's index in _KINDS plus 4 x the flags (truncated 1, redacted
# 2); ``blob`` is base64; ``size`` is null when it is the blob's length and ``format`` null
# when it is "pickle", as they are for almost every value (migration 0015).
_INLINE_FIELDS = (
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
_KINDS = (PayloadKind.INPUT.value, PayloadKind.OUTPUT.value, PayloadKind.FIRST_YIELD.value)
_KIND_CODES = {kind: index for index, kind in enumerate(_KINDS)}
_DEFAULT_FORMAT = "pickle"
_MIN_INLINE = 4
# The layout written before migration 0015 (still read: rows are not rewritten): the kind
# and format as strings, the size always, flags apart.
_V1_FIELDS = (
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
_TRUNCATED, _REDACTED = 1, 2
_STRING_COLUMNS = frozenset({"name", "format", "value_type", "sha256", "warning"})
_PREHASH = re.compile(rf"[0-9a-f]{{{PREHASH_BYTES * 2}}}")


@dataclasses.dataclass(slots=True)
class EncodedStep:
    """One step ready for bulk statements: column values of its row and payload rows.
    ``values`` holds every captured value in payload-row shape, inline ones included (for
    the value index, which must see them all); ``hidden`` the prehashes of the redacted
    scalars the worker sent with them (``{"step_id", "kind", "key", "prehash"}``, for the
    value index only: never stored as they are)."""

    id: int
    status: str
    row: dict[str, Any]
    payloads: list[dict[str, Any]]
    values: list[dict[str, Any]]
    hidden: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def encode_step(execution_id: str, data: Mapping[str, Any]) -> EncodedStep:
    """Validate one step dict and split it into rows. Raises :class:`InvalidDataError`."""
    if not isinstance(data, Mapping):
        raise InvalidDataError(f"a step must be a dict, got {type(data).__name__}")
    step_id = _int(data, "id", None, required=True)
    where = f"step {step_id}"
    status = data.get("status")
    if status not in StepStatus.__members__.values():
        raise InvalidDataError(f"{where}: unknown status {status!r}")
    function, version = _function_version(data, where)
    name = data.get("name")
    if not isinstance(name, str):
        raise InvalidDataError(f"{where}: name must be a string")
    stdout = data.get("stdout") or ""
    if not isinstance(stdout, str):
        raise InvalidDataError(f"{where}: stdout must be a string")
    generator = data.get("generator")
    generator_doc: dict[str, Any] | None = None
    payloads: list[dict[str, Any]] = []
    hidden: list[dict[str, Any]] = []
    inputs = data.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise InvalidDataError(f"{where}: inputs must be a dict")
    for position, (param, value) in enumerate(inputs.items()):
        if not isinstance(param, str) or not param:
            raise InvalidDataError(f"{where}: input names must be non-empty strings")
        payloads.append(
            _payload(execution_id, step_id, PayloadKind.INPUT, param, position, value, where)
        )
        hidden.extend(_hidden(step_id, PayloadKind.INPUT, value, f"{where}: input {param}"))
    output = data.get("output")
    if output is not None:
        payloads.append(_payload(execution_id, step_id, PayloadKind.OUTPUT, "", 0, output, where))
        hidden.extend(_hidden(step_id, PayloadKind.OUTPUT, output, f"{where}: output"))
    if generator is not None:
        if not isinstance(generator, Mapping):
            raise InvalidDataError(f"{where}: generator must be a dict")
        generator_doc = {k: v for k, v in generator.items() if k != "first"}
        first = generator.get("first")
        if first is not None:
            payloads.append(
                _payload(execution_id, step_id, PayloadKind.FIRST_YIELD, "", 0, first, where)
            )
            hidden.extend(_hidden(step_id, PayloadKind.FIRST_YIELD, first, f"{where}: yield"))
    row = {
        "execution_id": execution_id,
        "id": step_id,
        "parent_id": _int(data, "parent_id", where),
        "sequence": _int(data, "sequence", where, default=step_id),
        "depth": _int(data, "depth", where, default=0),
        "name": name,
        "filename": _str_or_none(data, "filename", where),
        "lineno": _int(data, "lineno", where),
        "function": function,
        "version": version,
        "status": status,
        "started_at_ns": _int(data, "started_at_ns", where, required=True),
        "duration_ns": _int(data, "duration_ns", where),
        "error": data.get("error"),
        "stdout": stdout,
        "stdout_truncated": bool(data.get("stdout_truncated", False)),
        "warnings": list(data.get("warnings") or ()),
        "aggregates": list(data.get("aggregates") or ()),
        "generator": generator_doc,
        "extra": {key: value for key, value in data.items() if key not in KNOWN_KEYS} or None,
    }
    for field in ("error", "warnings", "aggregates", "generator", "extra"):
        check_json(f"{where}: {field}", row[field])
    row["payloads"] = [inline(p) for p in payloads if is_inline(p)] or None
    rows = [p for p in payloads if not is_inline(p)]
    return EncodedStep(
        id=step_id, status=str(status), row=row, payloads=rows, values=payloads, hidden=hidden
    )


def is_inline(payload: Mapping[str, Any]) -> bool:
    """Whether a payload row's value is kept in its step's row: not truncated (a truncated
    value was big) and a serialized original of at most :data:`INLINE_BLOB_MAX` bytes."""
    blob = payload["blob"]
    return not payload["truncated"] and (blob is None or len(blob) <= INLINE_BLOB_MAX)


def inline(payload: Mapping[str, Any]) -> list[Any]:
    """A payload row (as :func:`encode_step` builds it) as its compact inline list."""
    flags = (_TRUNCATED if payload["truncated"] else 0) | (_REDACTED if payload["redacted"] else 0)
    blob = payload["blob"]
    size = payload["size"]
    format_ = _clean(payload["format"])
    values = {
        **payload,
        "code": _KIND_CODES[payload["kind"]] + 4 * flags,
        "blob": None if blob is None else base64.b64encode(blob).decode("ascii"),
        "size": None if blob is not None and size == len(blob) else size,
        "format": None if format_ == _DEFAULT_FORMAT else format_,
    }
    entry = [
        _clean(values[field]) if field in _STRING_COLUMNS else values[field]
        for field in _INLINE_FIELDS
    ]
    while len(entry) > _MIN_INLINE and entry[-1] is None:
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
        or not _MIN_INLINE <= len(entry) <= len(_INLINE_FIELDS)
        or not isinstance(entry[0], int)
        or isinstance(entry[0], bool)
        or not 0 <= entry[0] < 4 * 4
        or entry[0] % 4 >= len(_KINDS)
    ):
        raise InvalidDataError(f"malformed inline step value {entry!r:.80}")
    code, name, position, preview, *rest = entry
    rest += [None] * (len(_INLINE_FIELDS) - _MIN_INLINE - len(rest))
    text, value_type, length, size, format_, sha256, warning = rest
    blob = _blob(text) if text is not None and blobs else None
    if size is None:  # the blob's length, from its base64 text (no need to decode it)
        size = len(text) * 3 // 4 - text.count("=", -2) if isinstance(text, str) else 0
    flags = code // 4
    return {
        "kind": _KINDS[code % 4],
        "name": name,
        "position": position,
        "preview": preview,
        "size": size,
        "format": _DEFAULT_FORMAT if format_ is None else format_,
        "truncated": bool(flags & _TRUNCATED),
        "redacted": bool(flags & _REDACTED),
        "blob": blob if blobs else None,
        "value_type": value_type,
        "length": length,
        "sha256": sha256,
        "warning": warning,
    }


def _blob(text: Any) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise InvalidDataError("malformed inline step value: blob is not base64") from exc


def _from_v1(entry: list[Any], blobs: bool) -> dict[str, Any]:
    """An inline list in the layout written before migration 0015."""
    if not 7 <= len(entry) <= len(_V1_FIELDS):
        raise InvalidDataError(f"malformed inline step value {entry!r:.80}")
    kind, name, position, preview, size, format_, flags, *rest = entry
    rest += [None] * (len(_V1_FIELDS) - 7 - len(rest))
    blob, value_type, length, sha256, warning = rest
    if blob is not None and blobs:
        blob = _blob(blob)
    return {
        "kind": kind,
        "name": name,
        "position": position,
        "preview": preview,
        "size": size,
        "format": format_,
        "truncated": bool(flags & _TRUNCATED),
        "redacted": bool(flags & _REDACTED),
        "blob": blob if blobs else None,
        "value_type": value_type,
        "length": length,
        "sha256": sha256,
        "warning": warning,
    }


def _payload(
    execution_id: str,
    step_id: int,
    kind: PayloadKind,
    name: str,
    position: int,
    value: Any,
    where: str,
) -> dict[str, Any]:
    label = f"{where}: {kind.value}{' ' + name if name else ''}"
    if not isinstance(value, Mapping):
        raise InvalidDataError(f"{label} must be a captured-value dict")
    blob = value.get("blob")
    if blob is not None:
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise InvalidDataError(f"{label}: blob must be bytes, got {type(blob).__name__}")
        blob = bytes(blob)
    preview = value.get("preview")
    check_json(f"{label}: preview", preview)
    size = value.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int):
        raise InvalidDataError(f"{label}: size must be an integer")
    sha256 = value.get("sha256")
    warning = value.get("warning")
    if sha256 is not None and not isinstance(sha256, str):
        raise InvalidDataError(f"{label}: sha256 must be a string")
    if warning is not None and not isinstance(warning, str):
        raise InvalidDataError(f"{label}: warning must be a string")
    value_type = value.get("type")
    if value_type is not None and (not isinstance(value_type, str) or len(value_type) > 200):
        raise InvalidDataError(f"{label}: type must be a string of at most 200 characters")
    length = value.get("length")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or not 0 <= length < 2**63
    ):
        raise InvalidDataError(f"{label}: length must be a non-negative integer")
    return {
        "execution_id": execution_id,
        "step_id": step_id,
        "kind": kind.value,
        "name": name,
        "position": position,
        "preview": preview,
        "size": size,
        "format": str(value.get("format", "none")),
        "truncated": bool(value.get("truncated", False)),
        "redacted": bool(value.get("redacted", False)),
        "sha256": sha256,
        "warning": warning,
        "blob": blob,
        "value_type": value_type,
        "length": length,
    }


def _hidden(step_id: int, kind: PayloadKind, value: Any, label: str) -> list[dict[str, Any]]:
    """The prehashes of a captured value's redacted scalars (its ``hidden`` list of
    ``{"key", "digest"}``, see :mod:`runtree.tracking.value_digest`), checked: at most
    :data:`MAX_HIDDEN_DIGESTS`, keys of at most :data:`MAX_KEY_CHARS` characters, digests of
    exactly :data:`PREHASH_BYTES` bytes in lowercase hex."""
    sent = value.get("hidden") if isinstance(value, Mapping) else None
    if not sent:
        return []
    if not isinstance(sent, list) or len(sent) > MAX_HIDDEN_DIGESTS:
        raise InvalidDataError(f"{label}: hidden must be a list of at most {MAX_HIDDEN_DIGESTS}")
    entries = []
    for entry in sent:
        if not isinstance(entry, Mapping) or set(entry) != {"key", "digest"}:
            raise InvalidDataError(f"{label}: a hidden entry must be {{key, digest}}")
        key, digest = entry["key"], entry["digest"]
        if not isinstance(key, str) or len(key) > MAX_KEY_CHARS:
            raise InvalidDataError(f"{label}: a hidden key must be at most {MAX_KEY_CHARS} chars")
        if not isinstance(digest, str) or not _PREHASH.fullmatch(digest):
            raise InvalidDataError(f"{label}: a hidden digest must be {PREHASH_BYTES * 2} hex")
        entries.append(
            {"step_id": step_id, "kind": kind.value, "key": key, "prehash": bytes.fromhex(digest)}
        )
    return entries


def _function_version(data: Mapping[str, Any], where: str) -> tuple[str | None, int | None]:
    function = data.get("function")
    version = data.get("version")
    if isinstance(version, Sequence) and not isinstance(version, str | bytes):
        if len(version) != 2:
            raise InvalidDataError(f"{where}: version pair must be [function, number]")
        function, version = version
    if function is not None and not isinstance(function, str):
        raise InvalidDataError(f"{where}: function must be a 'namespace/name' string")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidDataError(f"{where}: version must be a version number, got {version!r}")
    return function, version


def _int(
    data: Mapping[str, Any],
    key: str,
    where: str | None,
    *,
    default: int | None = None,
    required: bool = False,
) -> Any:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidDataError(f"{where or 'a step'}: {key} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDataError(f"{where or 'a step'}: {key} must be an integer, got {value!r}")
    return value


def _str_or_none(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidDataError(f"{where}: {key} must be a string")
    return value


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
        or not _MIN_INLINE <= len(entry) <= len(_INLINE_FIELDS)
        or not 0 <= code < 16
        or code % 4 >= len(_KINDS)
    ):
        return _from_row(from_inline(entry, blobs=blobs))  # raises for a malformed one
    _code, name, _position, preview, *rest = entry
    rest += [None] * (len(_INLINE_FIELDS) - _MIN_INLINE - len(rest))
    text, value_type, length, size, format_, sha256, warning = rest
    if size is None:  # the blob's length, from its base64 text
        size = len(text) * 3 // 4 - text.count("=", -2) if type(text) is str else 0
    flags = code // 4
    data: dict[str, Any] = {
        "preview": preview,
        "size": size,
        "format": _DEFAULT_FORMAT if format_ is None else format_,
        "truncated": bool(flags & _TRUNCATED),
        "redacted": bool(flags & _REDACTED),
    }
    _add_present(data, sha256, warning, value_type, length)
    if text is not None and blobs:
        data["blob"] = _blob(text)
    return _KINDS[code % 4], name, data


def _v1_captured(entry: list[Any], blobs: bool) -> tuple[str, str, dict[str, Any]]:
    """:func:`_inline_captured` for a list in the layout before migration 0015."""
    if not 7 <= len(entry) <= len(_V1_FIELDS):
        return _from_row(from_inline(entry, blobs=blobs))  # raises for a malformed one
    kind, name, _position, preview, size, format_, flags, *rest = entry
    data: dict[str, Any] = {
        "preview": preview,
        "size": size,
        "format": format_,
        "truncated": bool(flags & _TRUNCATED),
        "redacted": bool(flags & _REDACTED),
    }
    if rest:
        rest += [None] * (len(_V1_FIELDS) - 7 - len(rest))
        blob, value_type, length, sha256, warning = rest
        _add_present(data, sha256, warning, value_type, length)
        if blob is not None and blobs:
            data["blob"] = _blob(blob)
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
