"""The value index: which steps handled a value, kept as keyed hashes, never as the value.

Every scalar a step received or returned -- strings of at most :data:`MAX_VALUE_CHARS`
characters and numbers, at any depth of its stored preview -- is indexed as one row of
``value_hashes``: the execution, the step, ``input`` or ``output``, the name it was found
under (the parameter, mapping key or object field nearest to it; ``""`` for a bare output) and
its digest. The value itself is never stored: only its digest.

**Digest.** HMAC-SHA256, cut to 128 bits, of the *prehash* of the normalised value (an
unkeyed SHA-256 of a type tag and the normalised text, see
:func:`~runtree.tracking.value_digest.prehash`), under the index's own key: 32 random bytes
made on first use and stored *sealed* (``value_hash_keys``, AES-GCM under the installation's
master key, :mod:`.sealed`). Without the master key a digest cannot be tested against
guesses; a master-key rotation re-encrypts the HMAC key like every sealed value, so the
digests already stored stay valid. (A key derived from the master key
would change with every rotation and orphan the whole index, which cannot be re-hashed: the
values are gone.)

**Normalisation** (:func:`normalise`). A string is NFC-normalised, trimmed and case-folded
(``" Ada@Example.COM "`` finds ``ada@example.com``). A number is written in its shortest exact
decimal form, integral floats as integers: ``42``, ``42.0`` and ``-0.0``/``0`` are the same
number; ``True``/``False`` and non-finite floats are not indexed. A search for text that reads
as a number (``"42"``) looks for the number *and* for the string ``"42"``, so a value typed on
the command line finds both ``customer_id=42`` and ``customer_id="42"``.

**What is not indexed.** Strings longer than :data:`MAX_VALUE_CHARS` (or cut in the preview),
the preview's own marks (``[redacted]``, ``… N more``, ``__type__`` names) and anything beyond
what the preview kept (100 items per container, 8 levels).

**Redacted values.** A value redacted in a step's preview is not in the preview. The worker,
which sees it in clear, sends the prehashes of its scalars with the step (``hidden``, at most
:data:`~runtree.tracking.value_digest.MAX_HIDDEN_DIGESTS` a value; the worker never holds
the key, see :mod:`runtree.tracking.value_digest`); the server keys them like its own. A
redacted *execution input* is indexed from its original, which the server holds when the
execution is created (:func:`index_private_input`).

**Earlier indexes.** Rows written before prehashing (HMAC over the normalised message
itself) are still found: a query looks for both forms (:func:`query_digests`).

Indexing happens in the server when a batch of steps is stored (:func:`index_payloads`), never in
the tracked call.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from ..errors import InvalidDataError
from ..tracking.value_digest import (
    MAX_VALUE_CHARS,
    message,
    normalise,
    prehash,
    preview_scalars,
)
from .common import chunks, table, upsert_insert
from .master_key import KEY_BYTES
from .schema import ValueHashKeyRow, ValueHashRow
from .sealed import open_text, seal_text

__all__ = ["MAX_VALUE_CHARS", "index_payloads", "index_private_input", "query_digests"]

VALUE_HASH_KEY_FIELD = "value_hash_keys.sealed_key"
# ``session.info`` key: a dict the sessions of one store share (they copy ``info``, not the
# objects in it), which keeps the opened HMAC key under "key" once read. The key never changes
# (a rotation re-seals the same key), so the store reads it once, not with every step batch.
KEY_CACHE = "runtree.value_index_key"
# ``session.info`` key (this session's own): it made the key, which is not there for others
# until it commits -- so it is not kept (a rolled-back key must not be used again).
_MADE_HERE = "runtree.value_index_key_made"
# Opened HMAC keys by their sealed form (a rotation re-seals the same key: a new entry).
_KEYS: dict[str, bytes] = {}
DIGEST_BYTES = 16
# The step id under which an execution's redacted input is indexed (real steps start at 1).
EXECUTION_INPUT_STEP = 0

_REDACTED = "[redacted]"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_PAYLOAD_KINDS = {"input": "input", "output": "output", "first_yield": "output"}


def keyed(key: bytes, digest: bytes) -> str:
    """The stored digest of a prehash (hex)."""
    return hmac.digest(key, digest, "sha256")[:DIGEST_BYTES].hex()


def _keyed_scalar(key: bytes, tag: str, text: str) -> str:
    return keyed(key, prehash(tag, text))


def _legacy(key: bytes, tag: str, text: str) -> str:
    """The digest of rows written before prehashing (searched for, never written)."""
    return hmac.new(key, message(tag, text), hashlib.sha256).digest()[:DIGEST_BYTES].hex()


# Built once: this runs with every batch of steps that holds a value.
_SEALED_KEY = select(table(ValueHashKeyRow).c.sealed_key).where(table(ValueHashKeyRow).c.id == 1)


_ROWS = table(ValueHashRow)
_DELETE_ROWS = delete(_ROWS).where(
    _ROWS.c.execution_id == bindparam("execution_id"),
    _ROWS.c.step_id.in_(bindparam("step_ids", expanding=True)),
)


def _index_key(session: Session) -> bytes:
    """The HMAC key, made and stored sealed on first use."""
    key = _stored_key(session, create=True)
    assert key is not None
    return key


def _stored_key(session: Session, *, create: bool) -> bytes | None:
    """The HMAC key (made and stored sealed on first use when ``create``; else ``None`` when
    there is none yet)."""
    cache: dict[str, bytes] | None = session.info.get(KEY_CACHE)
    if cache is not None and "key" in cache:
        return cache["key"]
    token = session.scalar(_SEALED_KEY)
    if token is None:
        if not create:
            return None
        session.info[_MADE_HERE] = True
        sealed = seal_text(session, VALUE_HASH_KEY_FIELD, secrets.token_hex(KEY_BYTES))
        session.execute(
            upsert_insert(session, table(ValueHashKeyRow))
            .values(id=1, sealed_key=sealed)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        token = session.scalar(_SEALED_KEY)
        assert token is not None
    key = _KEYS.get(token)
    if key is None:
        key = _KEYS[token] = bytes.fromhex(open_text(session, VALUE_HASH_KEY_FIELD, token))
    if cache is not None and not session.info.get(_MADE_HERE):
        cache["key"] = key
    return key


def query_digests(session: Session, value: str) -> list[str]:
    """The digests ``value`` (as typed by a user) may have been indexed under: as a string
    and, when it reads as a number, as that number; under every master key held."""
    forms: list[tuple[str, str]] = []
    as_string = normalise(value)
    if as_string is None:
        raise InvalidDataError(
            f"value must be 1 to {MAX_VALUE_CHARS} characters (not counting spaces around it)"
        )
    forms.append(as_string)
    stripped = value.strip()
    if _NUMBER.fullmatch(stripped):
        number = float(stripped)
        if "." not in stripped and "e" not in stripped.lower():
            as_number = normalise(int(stripped))
        else:
            as_number = normalise(number)
        if as_number is not None:
            forms.append(as_number)
    key = _stored_key(session, create=False)
    if key is None:
        return []  # nothing was ever indexed
    digests = {_keyed_scalar(key, tag, text) for tag, text in forms}
    digests.update(_legacy(key, tag, text) for tag, text in forms)
    return sorted(digests)


class _Digester:
    """The digests of one batch: each distinct scalar is normalised and hashed once (a value
    recurs across the steps of a run: a customer id passed down, a name returned up)."""

    __slots__ = ("key", "seen")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.seen: dict[tuple[type, Any], str | None] = {}

    def digest(self, scalar: Any) -> str | None:
        marker = (type(scalar), scalar)
        try:
            return self.seen[marker]
        except KeyError:
            normal = normalise(scalar)
            digest = None if normal is None else _keyed_scalar(self.key, *normal)
            self.seen[marker] = digest
            return digest


def value_rows(
    key: bytes | _Digester,
    execution_id: str,
    step_id: int,
    kind: str,
    name: str,
    preview: Any,
) -> Iterator[tuple[str, int, str, str, str]]:
    """The index rows ``(execution_id, step_id, kind, key, digest)`` of one captured value
    (``name``: its parameter, ``""`` for an output)."""
    digester = key if isinstance(key, _Digester) else _Digester(key)
    for found_under, scalar in preview_scalars(preview, name):
        digest = digester.digest(scalar)
        if digest is not None:
            yield execution_id, step_id, kind, found_under, digest


_INSERT = 'INSERT INTO value_hashes (execution_id, step_id, kind, "key", digest) VALUES ({marks})'


def _insert(session: Session, rows: Iterable[tuple[str, int, str, str, str]]) -> None:
    """Insert index rows with the driver's own ``executemany``: they are five plain strings
    and an integer, and SQLAlchemy's per-row parameter processing cost as much as the
    hashing (``bench/value_index.py``)."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(_INSERT.format(marks=", ".join([mark] * 5)), list(rows))


def index_payloads(
    session: Session,
    execution_id: str,
    step_ids: Sequence[int],
    payloads: Iterable[Mapping[str, Any]],
    hidden: Iterable[Mapping[str, Any]] = (),
) -> None:
    """Delete the index rows of ``step_ids`` (the steps stored before) and add those of the
    captured values of the steps being stored
    (``payloads`` in ``step_payloads`` row shape, the ones kept inline in the step row
    included) and of the redacted scalars the worker sent prehashes of (``hidden``:
    ``{"step_id", "kind", "key", "prehash"}``, already checked, ``prehash`` as bytes), in the
    caller's transaction."""
    for ids in chunks(list(step_ids)):
        session.execute(_DELETE_ROWS, {"execution_id": execution_id, "step_ids": list(ids)})
    digester: _Digester | None = None
    rows: dict[tuple[str, int, str, str, str], None] = {}
    for payload in payloads:
        if payload.get("redacted") and payload.get("preview") == _REDACTED:
            continue
        kind = _PAYLOAD_KINDS.get(str(payload["kind"]))
        if kind is None:
            continue
        if digester is None:
            digester = _Digester(_index_key(session))
        name = payload["name"] if kind == "input" else ""
        rows.update(
            dict.fromkeys(
                value_rows(
                    digester, execution_id, payload["step_id"], kind, name, payload["preview"]
                )
            )
        )
    for entry in hidden:
        kind = _PAYLOAD_KINDS.get(str(entry["kind"]))
        if kind is None:
            continue
        if digester is None:
            digester = _Digester(_index_key(session))
        digest = keyed(digester.key, entry["prehash"])
        rows[(execution_id, entry["step_id"], kind, entry["key"], digest)] = None
    if rows:
        _insert(session, rows)


def index_private_input(session: Session, execution_id: str, original: Mapping[str, Any]) -> None:
    """Index an execution's input as it was before redaction (its redacted parts are in no
    preview), under step :data:`EXECUTION_INPUT_STEP`."""
    digester = _Digester(_index_key(session))
    rows: dict[tuple[str, int, str, str, str], None] = {}
    for name, value in original.items():
        rows.update(
            dict.fromkeys(
                value_rows(
                    digester, execution_id, EXECUTION_INPUT_STEP, "input", str(name)[:200], value
                )
            )
        )
    if rows:
        _insert(session, rows)


def index_size(session: Session) -> int:
    """How many index rows there are (for benchmarks and storage figures)."""
    return int(session.scalar(select(func.count()).select_from(ValueHashRow)) or 0)
