"""Secrets at rest: values the store keeps encrypted ("sealed").

Webhook signing secrets, the real values of redacted inputs (kept until their execution
ends) and the secret inputs of schedules are stored sealed: AES-256-GCM under a key derived
from the master key (:meth:`~.master_key.MasterKey.derive_key` with the purpose
``"seal/v1"``), a random 96-bit nonce per value, and the column's name as associated data (a
sealed value copied into another column does not open). A sealed value is text::

    rtsealed1.<key id>.<base64url(nonce + ciphertext + tag)>

so the key that sealed it is known without trying keys, and a rotation can find what is
left to re-encrypt with a plain ``LIKE``.

**The active key.** Which key seals new values is recorded in the database
(``server_flags``, :data:`ACTIVE_KEY_FLAG`), read in the sealing transaction itself. A
rotation (:mod:`.rotation`) first changes that row, then re-encrypts: no process seals with
the old key once the change is committed, whatever keys it loaded at start, and a process
that meets a key id it does not hold reads its key source again before giving up. The first
value ever sealed records the newest key of the source as the active one (creating the key
file if there is none). A key id that cannot be found, a value that does not open (wrong key,
tampered, truncated) and a value that is not sealed where one must be are each a
:class:`~runtree.errors.SecretKeyError` saying so: never garbage, never a silent fallback.

The :class:`Keyring` travels with every store session (``session.info["keyring"]``, set by
:class:`~.database.Database`), so the store's functions seal and open values where they
read and write rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ..errors import SecretKeyError
from .common import dumps_json, table, upsert_insert, utcnow
from .master_key import KeySource, MasterKey
from .schema import ServerFlagRow

if TYPE_CHECKING:  # cryptography is imported when a value is first sealed or opened
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENVELOPE = "rtsealed1"
SEAL_PURPOSE = "seal/v1"
ACTIVE_KEY_FLAG = "secret-key-id"
_NONCE_BYTES = 12


class Keyring:
    """The master keys of one :class:`~.master_key.KeySource`, by id, with their sealing
    ciphers (thread-safe)."""

    def __init__(self, source: KeySource) -> None:
        self.source = source
        self._ciphers: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    def newest(self, *, create: bool = False) -> MasterKey:
        """The source's newest key (``create``: make a missing key file)."""
        return self.source.master_keys(create=create)[0]

    def key(self, key_id: str) -> MasterKey:
        """The key named ``key_id``, reading the source again once if it is not there."""
        for keys in (self.source.master_keys(), None):
            if keys is None:
                keys = self.source.reload()
            for key in keys:
                if key.key_id == key_id:
                    return key
        held = ", ".join(key.key_id for key in self.source.master_keys())
        raise SecretKeyError(
            f"the stored secrets need key {key_id}, but {self.source.description} holds "
            f"key {held}: give this process the key the database was sealed with "
            "(restore the key file or set RUNTREE_SECRET_KEY)"
        )

    def seal(self, key: MasterKey, field: str, plaintext: bytes) -> str:
        """``plaintext`` sealed with ``key`` for the column ``field``."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher(key).encrypt(nonce, plaintext, field.encode("utf-8"))
        payload = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{ENVELOPE}.{key.key_id}.{payload}"

    def open(self, field: str, token: str) -> bytes:
        """The plaintext of a value sealed for ``field``."""
        from cryptography.exceptions import InvalidTag

        key_id, payload = parse_envelope(field, token)
        key = self.key(key_id)
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            return self._cipher(key).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], field.encode("utf-8")
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretKeyError(
                f"a sealed {field} does not open with key {key_id}: it was damaged or "
                "changed in the database"
            ) from None

    def _cipher(self, key: MasterKey) -> AESGCM:
        with self._lock:
            cipher = self._ciphers.get(key.key_id)
            if cipher is None:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM

                cipher = AESGCM(key.derive_key(SEAL_PURPOSE))
                self._ciphers[key.key_id] = cipher
            return cipher


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(ENVELOPE + ".")


def parse_envelope(field: str, token: str) -> tuple[str, str]:
    """``(key id, payload)`` of a sealed value; :class:`SecretKeyError` if it is none."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != ENVELOPE or not parts[1] or not parts[2]:
        raise SecretKeyError(f"a stored {field} is not sealed as it must be")
    return parts[1], parts[2]


def key_id_of(token: str) -> str:
    """The id of the key that sealed ``token``."""
    return parse_envelope("value", token)[0]


# --- in a store session ---------------------------------------------------------------------


def keyring_of(session: Session | Connection) -> Keyring:
    keyring = session.info.get("keyring")
    if not isinstance(keyring, Keyring):  # pragma: no cover - Database always sets it
        raise SecretKeyError("this database session has no keyring")
    return keyring


def active_key_id(session: Session | Connection, *, lock: bool = False) -> str | None:
    """The id of the key that seals new values (``None``: nothing was ever sealed). ``lock``:
    hold the row until the transaction ends (shared; PostgreSQL -- SQLite's write
    transactions are serialized anyway)."""
    stmt = select(ServerFlagRow.value).where(ServerFlagRow.name == ACTIVE_KEY_FLAG)
    if lock:
        stmt = stmt.with_for_update(read=True)
    return session.execute(stmt).scalar()


def active_key(session: Session | Connection) -> MasterKey:
    """The key new values are sealed with (see the module docstring); the first call on a
    database records the source's newest key (creating a missing key file)."""
    keyring = keyring_of(session)
    key_id = active_key_id(session, lock=True)
    if key_id is None:
        newest = keyring.newest(create=True)
        session.execute(
            upsert_insert(session, table(ServerFlagRow))
            .values(name=ACTIVE_KEY_FLAG, value=newest.key_id, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        key_id = active_key_id(session, lock=True)
        assert key_id is not None
    return keyring.key(key_id)


def seal_text(session: Session | Connection, field: str, text: str) -> str:
    keyring = keyring_of(session)
    return keyring.seal(active_key(session), field, text.encode("utf-8"))


def open_text(session: Session | Connection, field: str, token: str) -> str:
    return keyring_of(session).open(field, token).decode("utf-8")


def seal_json(session: Session | Connection, field: str, value: Any) -> str:
    keyring = keyring_of(session)
    return keyring.seal(active_key(session), field, dumps_json(value).encode("utf-8"))


def open_json(session: Session | Connection, field: str, token: str) -> Any:
    return json.loads(keyring_of(session).open(field, token))


def check_keys(session: Session | Connection) -> str | None:
    """Fail now, with a clear :class:`SecretKeyError`, when this process could not open the
    database's sealed values: its key source is unreadable, or does not hold the active key.
    Returns the active key id (``None``: nothing sealed yet; the key is created when first
    needed)."""
    keyring = keyring_of(session)
    key_id = active_key_id(session)
    if key_id is None:
        keyring.newest(create=True)
        return None
    keyring.key(key_id)
    return key_id
