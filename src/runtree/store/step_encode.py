"""Step dicts a worker sends, checked and split into rows.

A step arrives as ``runtree.tracking.Step.to_dict(include_blobs=True)``, from a worker: it is
untrusted input, checked here (anything out of shape raises :class:`InvalidDataError`). It
becomes one ``steps`` row; its captured values (each input, the output, a generator's first
yield) are kept in that row's ``payloads`` column when they are small
(:func:`.step_inline.is_inline`: most are), else in a ``step_payloads`` row each.

Keys the store does not know are kept in the step's ``extra`` column, so a newer tracking
runtime loses nothing. Also accepted beyond that shape: an optional ``"function"`` key
(``"namespace/name"``), and a ``"version"`` that is either a version number or a
``[function, number]`` pair (so the instrumenter's per-function ``version`` constant may
carry both), and a captured value's ``hidden`` prehashes (for the value index only, never
stored: see :func:`_hidden`). Blobs must be bytes-like; they are stored as they are and never
deserialized here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidDataError
from ..models import STEP_FIELDS, PayloadKind, StepStatus
from ..tracking.value_digest import MAX_HIDDEN_DIGESTS, MAX_KEY_CHARS, PREHASH_BYTES
from .common import check_json
from .step_inline import inline, is_inline

KNOWN_KEYS = frozenset(STEP_FIELDS)
"""Step-dict keys with a column (or payload rows); every other key goes to ``extra``."""

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
