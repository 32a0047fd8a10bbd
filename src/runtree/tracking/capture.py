"""Capturing values: a cheap snapshot at call time, a full record (preview + serialized copy) later.

The hot path (:func:`snapshot`) runs on every recorded call, so it does as little as possible:
a tuple of immutable scalars is kept as it is; anything else is pickled at once by
:mod:`.safe_pickle` (the C pickler, protocol 5), which freezes it against later mutation. That
pickle stops as soon as it passes the value budget: a value too large to keep is realized at
once, from the live object, as a bounded preview marked truncated.

Everything else -- previews, redaction, per-value copies -- happens in :func:`realize`, when
the recording is read or exported, and never raises. No step of capture runs code written in
Python, except the reducers of the allow-listed modules (:class:`CapturePolicy`).

``realize`` unpickles what ``snapshot`` pickled. That is safe only in the process that produced
the bytes (the user's process or a sandboxed worker); the server never calls it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import re
import types
from typing import Any

from .context import PAUSED_RECORD, get_holder
from .plain_values import realize_plain
from .preview import REDACTED as REDACTED
from .preview import make_preview
from .raw_state import Opaque, OverBudget, raw_dict, type_name
from .safe_pickle import DEFAULT_REDUCER_MODULES, TypeRules, dumps, rules_for
from .value_digest import hidden_digests

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

# Kept as they are at call time, not pickled: immutable scalars, and classes and builtin
# functions (capture records those by reference anyway, so holding the reference is the same).
IMMUTABLE_SCALARS = frozenset(
    {int, float, str, bool, type(None), bytes, complex, type, types.BuiltinFunctionType}
)

# Extra modules whose reducers capture may run, for every recording of this process.
ENV_REDUCER_MODULES = "RUNTREE_CAPTURE_REDUCER_MODULES"
_TEXTUAL = (bytes, bytearray, memoryview, str)
_CONTAINERS = (list, tuple, dict, set, frozenset)  # exact types: len() is theirs
_HASH_LIMIT = 1024 * 1024  # a cut str/bytes is hashed whole up to this (or 16 x the budget)


class Unpicklable:
    """Values realized at call time (too large to pickle whole, or not picklable at all)."""

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

    ``preview`` is JSON-safe and bounded (see :mod:`.preview`). ``blob`` is the serialized
    copy for replay (``format`` ``pickle``; ``none`` when nothing was serialized); it is
    ``None`` when the value was redacted, truncated or could not be serialized.

    ``size`` is the size of the serialized copy in bytes. For a truncated value it is the
    exact size of the original where that is cheap to know -- a ``bytes``, ``bytearray`` or
    ``memoryview`` (its length) or a ``str`` (its UTF-8 length) -- and otherwise the bytes
    serialized when capture stopped, a lower bound that ``warning`` states ("more than N
    bytes"); the preview still gives the exact length of a cut container. ``sha256`` is set
    only when it is the digest of the whole original: the raw bytes of a cut ``bytes``-like
    or ``str`` (UTF-8) of at most 1 MiB (or 16 times the budget); never of a prefix.

    ``hidden`` holds ``(name, prehash)`` of the scalars redaction removed (for the value
    index, see :mod:`.value_digest`); :meth:`to_dict` sends them only when asked, for the
    server, which never stores them as they are.

    ``type`` names the original value's type (``list``, ``shop.Order``) and ``length`` is its
    ``len()`` for built-in strings, bytes and containers (``None`` for anything else: a
    user-defined ``__len__`` is never called).
    """

    preview: Any
    size: int
    format: str
    blob: bytes | None = None
    truncated: bool = False
    redacted: bool = False
    sha256: str | None = None
    warning: str | None = None
    type: str | None = None
    length: int | None = None
    hidden: tuple[tuple[str, str], ...] = ()

    def to_dict(
        self, *, include_blob: bool = False, include_hidden: bool = False
    ) -> dict[str, Any]:
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
        if self.type is not None:
            data["type"] = self.type
        if self.length is not None:
            data["length"] = self.length
        if include_blob and self.blob is not None:
            data["blob"] = self.blob
        if include_hidden and self.hidden:
            data["hidden"] = [{"key": key, "digest": digest} for key, digest in self.hidden]
        return data


def _env_reducer_modules() -> tuple[str, ...]:
    raw = os.environ.get(ENV_REDUCER_MODULES, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclasses.dataclass(frozen=True, slots=True)
class CapturePolicy:
    """How values are captured: the per-value budget, which names count as secrets, and
    which modules' own reducers may run (``reducer_modules``, added to the standard library,
    numpy and :data:`ENV_REDUCER_MODULES`; top-level package names)."""

    value_budget: int = DEFAULT_VALUE_BUDGET
    secret_names: tuple[str, ...] = DEFAULT_SECRET_NAMES
    reducer_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.value_budget < 64:
            raise ValueError(f"value_budget must be at least 64 bytes, got {self.value_budget}")

    @property
    def secret_pattern(self) -> re.Pattern[str]:
        return _secret_regex(self.secret_names)

    @property
    def rules(self) -> TypeRules:
        return _rules_of(self.reducer_modules)

    def is_secret(self, name: object) -> bool:
        return isinstance(name, str) and self.secret_pattern.search(name) is not None


_secret_cache: dict[tuple[str, ...], re.Pattern[str]] = {}
_rules_cache: dict[tuple[str, ...], TypeRules] = {}


def _secret_regex(names: tuple[str, ...]) -> re.Pattern[str]:
    pattern = _secret_cache.get(names)
    if pattern is None:
        # "api_key" also matches "api-key" and "apiKey": separators are optional.
        parts = [re.escape(n).replace("_", "[-_]?") for n in names]
        pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else re.compile(r"(?!)")
        _secret_cache[names] = pattern
    return pattern


def _rules_of(extra: tuple[str, ...]) -> TypeRules:
    rules = _rules_cache.get(extra)
    if rules is None:
        modules = DEFAULT_REDUCER_MODULES | set(extra) | set(_env_reducer_modules())
        rules = _rules_cache[extra] = rules_for(frozenset(modules))
    return rules


# --- hot path --------------------------------------------------------------------------


def snapshot(values: tuple[Any, ...], policy: CapturePolicy) -> Snapshot:
    """Freeze ``values`` at call time as cheaply as possible. Never raises.

    Values over the budget, or that cannot be pickled, are realized at once (the live
    objects may change later): bounded previews, so this costs O(budget) too.
    """
    for value in values:
        if type(value) not in IMMUTABLE_SCALARS:
            break
    else:
        return values
    budget = policy.value_budget
    for value in values:
        if type(value) in _CONTAINERS and len(value) > budget:
            return _realized_now(values, policy)  # it cannot fit: no pickling at all
    try:
        return dumps(values, budget * (len(values) or 1), policy.rules).blob
    except OverBudget as over:
        if len(values) == 1:  # that one value is over the budget: no second try
            return _realized_now(values, policy, over)
        return _realized_now(values, policy)
    except Exception:
        return _realized_now(values, policy)


def _realized_now(
    values: tuple[Any, ...], policy: CapturePolicy, over: OverBudget | None = None
) -> Unpicklable:
    """Realize at call time, recording nothing meanwhile (allowed reducers may call back
    into instrumented code)."""
    holder = get_holder()
    saved = None if holder is None else holder[0]
    if holder is not None:
        holder[0] = PAUSED_RECORD
    try:
        budget = policy.value_budget
        if over is not None:
            value = values[0]
            return Unpicklable(
                [_described(_over_budget(value, budget, policy, over.written), value)]
            )
        return Unpicklable([realize_value(v, budget, policy) for v in values])
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
    if type(snap) is Frozen:
        return realize(snap.blob, 1, policy)[0]
    if type(snap) is Unpicklable:
        return snap.captured[0]
    return realize_value(snap, policy.value_budget, policy)


def realize(snap: Snapshot, count: int, policy: CapturePolicy) -> list[Captured]:
    """Turn a snapshot of ``count`` values into records. Never raises."""
    if isinstance(snap, Unpicklable):
        return snap.captured
    if isinstance(snap, bytes):
        try:
            values = pickle.loads(snap)  # our own bytes, made in this process
        except Exception as exc:
            return [_unreadable(exc) for _ in range(count)]
        return [realize_value(v, policy.value_budget, policy, owned=True) for v in values]
    return [realize_value(v, policy.value_budget, policy) for v in snap]


def realize_value(
    value: Any, budget: int, policy: CapturePolicy | None = None, *, owned: bool = False
) -> Captured:
    """Preview and serialize one value within ``budget`` bytes. Never raises, runs no code
    written in Python outside the allow-listed reducers, and does O(budget) work.

    ``owned``: ``value`` is a copy capture made itself (unpickled from a snapshot), which
    redaction may change in place."""
    return _described(_realize(value, budget, policy, owned=owned), value)


def _described(captured: Captured, value: Any) -> Captured:
    """``captured`` with the type and built-in length of the value it was made from."""
    kind = type(value)
    captured.type = type_name(kind)
    captured.length = len(value) if kind in _SIZED_BUILTINS else None
    return captured


# Types whose len() is built in (a subclass may define its own __len__: never called).
_SIZED_BUILTINS = frozenset({str, bytes, bytearray, list, tuple, dict, set, frozenset})


def _realize(value: Any, budget: int, policy: CapturePolicy | None, *, owned: bool) -> Captured:
    policy = policy or CapturePolicy(value_budget=max(64, budget))
    secret = policy.secret_pattern
    rules = policy.rules
    secrets: list[tuple[str, Any]] = []  # what redaction removed, for the value index
    plain = realize_plain(value, budget, secret, rules)  # most values: one walk, same record
    if plain is not None:
        preview, blob = plain
        return Captured(preview, len(blob), "pickle", blob)
    try:
        if type(value) in _TEXTUAL and _raw_size(value) > budget:
            return _cut_text(value, budget, secret, rules)
        if type(value) in _CONTAINERS and len(value) > budget:
            # Every item takes at least a byte: it cannot fit, and len() is a lower bound.
            return _over_budget(value, budget, policy, len(value))
        dumped = None
        if not owned:
            try:
                dumped = dumps(value, budget, rules)
            except OverBudget as over:
                return _over_budget(value, budget, policy, over.written)
            except RecursionError:
                preview, redacted = make_preview(value, budget, secret, rules, secrets)
                return Captured(
                    preview,
                    0,
                    "none",
                    truncated=True,
                    redacted=redacted,
                    warning="nested too deeply to serialize",
                    hidden=_hidden(secrets, budget, rules),
                )
            except Exception as exc:
                preview, redacted = make_preview(value, budget, secret, rules, secrets)
                reason = f"not serializable ({type(exc).__name__}: {_safe_str(exc)})"
                return Captured(
                    preview,
                    0,
                    "none",
                    redacted=redacted,
                    warning=reason,
                    hidden=_hidden(secrets, budget, rules),
                )
            value = pickle.loads(dumped.blob)  # our bytes: only rebuild and allowed reducers
        redacted = redact_in_place(value, secret, secrets)
        if dumped is None or redacted:
            try:
                dumped = dumps(value, budget, rules)
            except OverBudget as over:
                return _over_budget(value, budget, policy, over.written, secrets)
        preview, _ = make_preview(value, budget, secret, rules)
        warning = _opaque_note(value) if dumped.opaque else None
        blob = dumped.blob
        return Captured(
            preview,
            len(blob),
            "pickle",
            blob,
            redacted=redacted,
            warning=warning,
            hidden=_hidden(secrets, budget, rules),
        )
    except Exception as exc:  # a bug: capture must never break the program
        return _unreadable(exc)


def _over_budget(
    value: Any,
    budget: int,
    policy: CapturePolicy,
    written: int,
    secrets: list[tuple[str, Any]] | None = None,
) -> Captured:
    """A value whose serialization passed the budget after ``written`` bytes (``secrets``:
    what redaction already removed from it)."""
    if type(value) in _TEXTUAL and _raw_size(value) > budget:
        return _cut_text(value, budget, policy.secret_pattern, policy.rules)
    secrets = [] if secrets is None else secrets
    preview, redacted = make_preview(value, budget, policy.secret_pattern, policy.rules, secrets)
    return Captured(
        preview,
        written,
        "none",
        truncated=True,
        redacted=redacted or bool(secrets),
        warning=f"more than {budget:,} bytes serialized; cut there",
        hidden=_hidden(secrets, budget, policy.rules),
    )


def _hidden(
    secrets: list[tuple[str, Any]], budget: int, rules: TypeRules
) -> tuple[tuple[str, str], ...]:
    """The prehashes of the scalars of redacted values (``(name, value)`` pairs), from
    previews of the values in clear (bounded like any preview; nothing but hashes kept)."""
    if not secrets:
        return ()
    return hidden_digests(
        (name, make_preview(value, budget, None, rules)[0]) for name, value in secrets
    )


def _raw_size(value: Any) -> int:
    if type(value) is memoryview:
        return int(value.nbytes)
    if type(value) is str:
        return len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    return len(value)


def _cut_text(value: Any, budget: int, secret: re.Pattern[str], rules: TypeRules) -> Captured:
    """A ``str`` or ``bytes``-like over the budget: never serialized, its size is exact."""
    size = _raw_size(value)
    digest = None
    if size <= max(_HASH_LIMIT, 16 * budget):
        data = value.encode("utf-8", "surrogatepass") if type(value) is str else value
        digest = hashlib.sha256(data).hexdigest()
    preview, redacted = make_preview(value, budget, secret, rules)
    return Captured(preview, size, "none", truncated=True, redacted=redacted, sha256=digest)


def _opaque_note(copy: Any) -> str:
    names = sorted(_opaque_names(copy))
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"not serializable without running code or side effects, described instead: {listed}"


def _walk(value: Any) -> Any:
    """Every object reachable from ``value`` through builtin containers and raw object
    state, once each, without recursion. Used on copies made from a pickle within the
    budget, so the walk is bounded by the budget too."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        obj = stack.pop()
        if type(obj) in IMMUTABLE_SCALARS or id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        kind = type(obj)
        if issubclass(kind, dict):
            stack.extend(dict.values(obj))
        elif issubclass(kind, list | tuple | set | frozenset):
            base: Any = next(b for b in (list, tuple, set, frozenset) if issubclass(kind, b))
            stack.extend(base.__iter__(obj))
        if kind is Opaque:
            if obj.state:
                stack.append(obj.state)
            continue
        state = raw_dict(obj) if not issubclass(kind, type) else None
        if state is not None:
            stack.append(state)


def _opaque_names(copy: Any) -> set[str]:
    return {obj.type_name for obj in _walk(copy) if type(obj) is Opaque and obj.failed}


def redact_in_place(
    copy: Any, secret: re.Pattern[str], removed: list[tuple[str, Any]] | None = None
) -> bool:
    """Replace, in a copy capture made, every mapping entry and object field whose name is
    a secret (appending ``(name, value)`` of each to ``removed``, when given). Returns
    whether anything was replaced."""
    changed = False
    for obj in _walk(copy):
        target: dict[Any, Any] | None = None
        if issubclass(type(obj), dict):
            target = obj
        elif type(obj) is Opaque:
            target = obj.state
        elif not issubclass(type(obj), type):
            target = raw_dict(obj)
        if target is None or not dict.__len__(target):  # never the truth of a subclass
            continue
        for key in [k for k in dict.keys(target) if type(k) is str and secret.search(k)]:
            current = dict.__getitem__(target, key)
            if type(current) is not str or current != REDACTED:
                dict.__setitem__(target, key, REDACTED)
                changed = True
                if removed is not None:
                    removed.append((key, current))
    return changed


def redact(value: Any, policy: CapturePolicy) -> tuple[Any, bool]:
    """Return ``value`` with every mapping entry whose key names a secret replaced (for
    plain JSON-like data such as an execution's input; the value is not modified)."""
    pattern = policy.secret_pattern
    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> tuple[Any, bool]:
        if type(obj) in IMMUTABLE_SCALARS or depth > 50 or id(obj) in seen:
            return obj, False
        if type(obj) is dict:
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
        if type(obj) in (list, tuple):
            seen.add(id(obj))
            pairs = [walk(item, depth + 1) for item in obj]
            if any(changed for _, changed in pairs):
                rebuilt = [new for new, _ in pairs]
                return (tuple(rebuilt) if type(obj) is tuple else rebuilt), True
        return obj, False

    return walk(value, 0)


def _unreadable(exc: BaseException) -> Captured:
    message = f"could not capture value: {type(exc).__name__}: {_safe_str(exc)}"
    return Captured(preview={"__unreadable__": message}, size=0, format="none", warning=message)


def _safe_str(error: BaseException, limit: int = 500) -> str:
    """The message of an exception raised by capture itself or an allowed reducer."""
    try:
        text = str(error) if type(error).__module__ == "builtins" else ""
    except Exception:
        text = ""
    text = text or type(error).__name__
    return text if len(text) <= limit else text[:limit] + "…"
