"""Capturing values: a cheap snapshot at call time, a full record (preview + serialized copy) later.

The hot path (:func:`snapshot`) runs on every recorded call, so it does as little as possible:
a tuple of immutable scalars is kept as it is; anything else is pickled at once with protocol
5 (one C call), which freezes it against later mutation. Everything expensive -- JSON previews,
per-value serialization, ``dill`` fallback, secret redaction, size budgets, hashes -- happens in
:func:`realize`, when the recording is read or exported, and never raises.

``realize`` unpickles what ``snapshot`` pickled. That is safe only in the process that produced
the bytes (the user's process or a sandboxed worker); the server never calls it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import pickle
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .context import PAUSED_RECORD, get_holder
from .safe_pickle import dill_dumps, has_user_repr, safe_repr
from .safe_pickle import dumps as _pickle_dumps

DEFAULT_VALUE_BUDGET = 64 * 1024
DEFAULT_SECRET_NAMES: tuple[str, ...] = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "private_key",
)
REDACTED = "[redacted]"

IMMUTABLE_SCALARS = frozenset({int, float, str, bool, type(None), bytes, complex})

# Preview limits: a preview is for reading, the serialized copy is for replay.
_PREVIEW_MAX_ITEMS = 100
_PREVIEW_MAX_DEPTH = 8
_PREVIEW_MAX_STR = 2000


class Unpicklable:
    """Values pickle could not serialize at call time, each already realized."""

    __slots__ = ("captured",)

    def __init__(self, captured: list[Captured]) -> None:
        self.captured = captured


class Frozen:
    """One value pickled at call time (see :func:`snapshot_one`)."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob


# "No value was captured" (a ``None`` return value is captured as ``None``).
NOTHING: Any = object()

# What snapshot() returns: the immutable values themselves, their pickle, or realized records.
Snapshot = tuple[Any, ...] | bytes | Unpicklable


@dataclasses.dataclass(slots=True)
class Captured:
    """One captured value as it is shown and stored.

    ``preview`` is JSON-safe and bounded. ``blob`` is the serialized original for replay
    (``format`` says how: ``pickle``, ``dill`` or ``none`` when only a ``repr`` survived); it is
    ``None`` when the value was redacted, truncated or could not be serialized. ``size`` is the
    serialized size in bytes; ``sha256`` is set when the value was truncated, so two runs can
    still be compared.
    """

    preview: Any
    size: int
    format: str
    blob: bytes | None = None
    truncated: bool = False
    redacted: bool = False
    sha256: str | None = None
    warning: str | None = None

    def to_dict(self, *, include_blob: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "preview": self.preview,
            "size": self.size,
            "format": self.format,
            "truncated": self.truncated,
            "redacted": self.redacted,
        }
        if self.sha256 is not None:
            data["sha256"] = self.sha256
        if self.warning is not None:
            data["warning"] = self.warning
        if include_blob and self.blob is not None:
            data["blob"] = self.blob
        return data


@dataclasses.dataclass(frozen=True, slots=True)
class CapturePolicy:
    """How values are captured: the per-value budget and which names count as secrets."""

    value_budget: int = DEFAULT_VALUE_BUDGET
    secret_names: tuple[str, ...] = DEFAULT_SECRET_NAMES

    def __post_init__(self) -> None:
        if self.value_budget < 64:
            raise ValueError(f"value_budget must be at least 64 bytes, got {self.value_budget}")

    @property
    def secret_pattern(self) -> re.Pattern[str]:
        return _secret_regex(self.secret_names)

    def is_secret(self, name: object) -> bool:
        return isinstance(name, str) and self.secret_pattern.search(name) is not None


_secret_cache: dict[tuple[str, ...], re.Pattern[str]] = {}


def _secret_regex(names: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _secret_cache.get(names)
    if pattern is None:
        # "api_key" also matches "api-key" and "apiKey": separators are optional.
        parts = [re.escape(n).replace("_", "[-_]?") for n in names]
        pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else re.compile(r"(?!)")
        _secret_cache[names] = pattern
    return pattern


# --- hot path --------------------------------------------------------------------------


def snapshot(values: tuple[Any, ...], policy: CapturePolicy) -> Snapshot:
    """Freeze ``values`` at call time as cheaply as possible. Never raises.

    Values pickle cannot handle, and calls whose pickle is over the budget, are realized at
    once (the live objects may change later), which is slow but rare.
    """
    for value in values:
        if type(value) not in IMMUTABLE_SCALARS:
            break
    else:
        return values
    try:
        blob = _pickle_dumps(values)
    except Exception:
        return _realized_now(values, policy)
    if len(blob) > policy.value_budget * (len(values) or 1):
        return _realized_now(values, policy)
    return blob


def _realized_now(values: tuple[Any, ...], policy: CapturePolicy) -> Unpicklable:
    """Realize at call time (the live objects may change later), recording nothing meanwhile:
    previews and dill may run library code that calls back into instrumented code."""
    holder = get_holder()
    saved = None if holder is None else holder[0]
    if holder is not None:
        holder[0] = PAUSED_RECORD
    try:
        return Unpicklable([realize_value(v, policy.value_budget, policy) for v in values])
    finally:
        if holder is not None:
            holder[0] = saved


def snapshot_one(value: Any, policy: CapturePolicy) -> Any:
    """Like :func:`snapshot` for a single value, without a tuple around it: an immutable
    scalar is kept as it is, anything else becomes a :class:`Frozen` or an
    :class:`Unpicklable`. Never raises."""
    if type(value) in IMMUTABLE_SCALARS:
        return value
    frozen = snapshot((value,), policy)
    return Frozen(frozen) if isinstance(frozen, bytes) else frozen


# --- realizing -------------------------------------------------------------------------


def realize_one(snap: Any, policy: CapturePolicy) -> Captured | None:
    """Realize what :func:`snapshot_one` kept (``None`` for :data:`NOTHING`)."""
    if snap is NOTHING:
        return None
    if isinstance(snap, Frozen):
        return realize(snap.blob, 1, policy)[0]
    if isinstance(snap, Unpicklable):
        return snap.captured[0]
    return realize_value(snap, policy.value_budget, policy)


def realize(snap: Snapshot, count: int, policy: CapturePolicy) -> list[Captured]:
    """Turn a snapshot of ``count`` values into records. Never raises."""
    if isinstance(snap, Unpicklable):
        return snap.captured
    if isinstance(snap, bytes):
        try:
            values = pickle.loads(snap)
        except Exception as exc:  # a __reduce__ that does not round-trip
            return [_unreadable(exc) for _ in range(count)]
    else:
        values = snap
    return [realize_value(v, policy.value_budget, policy) for v in values]


def realize_value(value: Any, budget: int, policy: CapturePolicy | None = None) -> Captured:
    """Preview and serialize one live value within ``budget`` bytes. Never raises."""
    try:
        redacted = False
        if policy is not None:
            value, redacted = redact(value, policy)
        blob, fmt, warning = _serialize(value)
        size = len(blob) if blob is not None else _repr_size(value)
        preview = make_preview(value, budget)
        if size > budget:
            return Captured(
                preview=preview,
                size=size,
                format=fmt,
                blob=None,
                truncated=True,
                redacted=redacted,
                sha256=hashlib.sha256(blob).hexdigest() if blob is not None else None,
                warning=warning,
            )
        return Captured(preview, size, fmt, blob, redacted=redacted, warning=warning)
    except Exception as exc:  # the value's own __repr__/__eq__ may raise anything
        return _unreadable(exc)


def _unreadable(exc: BaseException) -> Captured:
    message = f"could not capture value: {type(exc).__name__}: {_safe_str(exc)}"
    return Captured(preview={"__unreadable__": message}, size=0, format="none", warning=message)


def _serialize(value: Any) -> tuple[bytes | None, str, str | None]:
    try:
        return _pickle_dumps(value), "pickle", None
    except Exception as pickle_error:
        try:
            return dill_dumps(value), "dill", None
        except Exception:
            reason = f"not serializable ({type(pickle_error).__name__}: {_safe_str(pickle_error)})"
            return None, "none", reason


def _repr_size(value: Any) -> int:
    try:
        return len(safe_repr(value).encode("utf-8", "replace"))
    except Exception:
        return 0


def _safe_str(obj: object, limit: int = 500) -> str:
    try:
        text = str(obj)
    except Exception:
        text = f"<{type(obj).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def _safe_repr(obj: object, limit: int) -> str:
    if isinstance(obj, bytes | bytearray) and len(obj) > limit:
        obj = obj[:limit]  # repr of a 10 MB bytes object only to cut it is wasteful
    try:
        text = safe_repr(obj)
    except Exception as exc:
        text = f"<{type(obj).__qualname__} (repr failed: {type(exc).__name__})>"
    return text if len(text) <= limit else text[:limit] + f"… [{len(text)} chars]"


def redact(value: Any, policy: CapturePolicy) -> tuple[Any, bool]:
    """Return ``value`` with every mapping entry whose key names a secret replaced.

    Containers are copied only where something was redacted; the user's objects are never
    modified.
    """
    pattern = policy.secret_pattern
    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> tuple[Any, bool]:
        if type(obj) in IMMUTABLE_SCALARS or depth > 50 or id(obj) in seen:
            return obj, False
        if isinstance(obj, Mapping):
            seen.add(id(obj))
            changed = False
            items = {}
            for key, item in obj.items():
                if isinstance(key, str) and pattern.search(key):
                    items[key] = REDACTED
                    changed = True
                else:
                    new, sub = walk(item, depth + 1)
                    items[key] = new
                    changed = changed or sub
            return (items if changed else obj), changed
        if isinstance(obj, list | tuple):
            seen.add(id(obj))
            pairs = [walk(item, depth + 1) for item in obj]
            if any(changed for _, changed in pairs):
                rebuilt = [new for new, _ in pairs]
                return (tuple(rebuilt) if isinstance(obj, tuple) else rebuilt), True
        return obj, False

    return walk(value, 0)


def make_preview(value: Any, budget: int = DEFAULT_VALUE_BUDGET) -> Any:
    """A JSON-safe, bounded rendering of ``value`` for display.

    Elided parts are marked: long strings end in ``… [N chars]``, long containers get a
    ``"… N more"`` item, unknown objects become ``{"__type__": ..., "repr": ...}``.
    """
    max_str = max(16, min(_PREVIEW_MAX_STR, budget // 4))
    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> Any:
        kind = type(obj)
        if obj is None or kind is bool or kind is int:
            return obj
        if kind is float:
            return obj if math.isfinite(obj) else repr(obj)
        if kind is str:
            return obj if len(obj) <= max_str else obj[:max_str] + f"… [{len(obj)} chars]"
        if isinstance(obj, bytes | bytearray):
            return {"__type__": kind.__name__, "size": len(obj), "repr": _safe_repr(obj, 200)}
        if depth >= _PREVIEW_MAX_DEPTH or id(obj) in seen:
            return {"__type__": _type_name(obj), "repr": _safe_repr(obj, 200)}
        if isinstance(obj, Mapping):
            seen.add(id(obj))
            out: dict[str, Any] = {}
            for index, (key, item) in enumerate(obj.items()):
                if index >= _PREVIEW_MAX_ITEMS:
                    out["…"] = f"{len(obj) - index} more"
                    break
                out[key if isinstance(key, str) else _safe_repr(key, 200)] = walk(item, depth + 1)
            seen.discard(id(obj))
            return out
        if isinstance(obj, list | tuple | set | frozenset):
            seen.add(id(obj))
            items: Iterable[Any] = obj if not isinstance(obj, set | frozenset) else _sorted(obj)
            result = []
            for index, item in enumerate(items):
                if index >= _PREVIEW_MAX_ITEMS:
                    result.append(f"… {len(obj) - index} more")
                    break
                result.append(walk(item, depth + 1))
            seen.discard(id(obj))
            return result
        state = _raw_fields(obj)
        default_repr = getattr(kind, "__repr__", None) is getattr(object, "__repr__", None)
        if state is not None and (has_user_repr(kind) or default_repr):
            # A plain object: its fields say more than "<C object at 0x7f...>", and reading
            # them runs none of its code.
            seen.add(id(obj))
            fields = {}
            for index, (name, item) in enumerate(state.items()):
                if index >= _PREVIEW_MAX_ITEMS:
                    fields["…"] = f"{len(state) - index} more"
                    break
                fields[name] = walk(item, depth + 1)
            seen.discard(id(obj))
            return {"__type__": _type_name(obj), **fields}
        return {"__type__": _type_name(obj), "repr": _safe_repr(obj, max_str)}

    return walk(value, 0)


def _raw_fields(obj: Any) -> dict[str, Any] | None:
    try:
        state = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None
    return dict(state) if isinstance(state, dict) else None


def _sorted(items: Iterable[Any]) -> list[Any]:
    listed = list(items)
    try:
        return sorted(listed)
    except Exception:
        return listed


def _type_name(obj: object) -> str:
    kind = type(obj)
    module = getattr(kind, "__module__", "")
    qualname = getattr(kind, "__qualname__", kind.__name__)
    return qualname if module in ("builtins", "", None) else f"{module}.{qualname}"
