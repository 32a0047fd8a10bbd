"""The installation's master key: where it comes from, and the keys derived from it.

runtree encrypts what it must keep secret at rest (webhook signing secrets, the real values of
redacted inputs: :mod:`.sealed`) under keys derived from one **master key** of 32 random
bytes. The master key comes from, in this order:

1. ``RUNTREE_SECRET_KEY``: the key itself, in base64 (``openssl rand -base64 32``, or
   ``runtree secrets generate-key``). During a rotation it holds two keys, comma-separated,
   the new one first (``NEW,OLD``).
2. A **key file** (``RUNTREE_SECRET_KEY_FILE``; by default next to a SQLite database,
   ``runtree.db.secret-key``, else ``~/.config/runtree/secret-key``): one base64 key per line,
   the newest first. It is created (mode 0600, one new random key) when it is missing and the
   database holds no sealed secret yet; a key file that its group or others may read or write
   is refused, as is one that holds anything but keys.

An in-memory SQLite database (``sqlite://``) without ``RUNTREE_SECRET_KEY`` gets a random key
that lives as long as the process, like the database.

Every problem is a :class:`~runtree.errors.SecretKeyError` naming the source and what to do;
the key bytes never appear in a message, a ``repr`` or a log.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import os
import secrets
import stat
import threading
from pathlib import Path

from ..environment import environment_value
from ..errors import SecretKeyError
from ..settings import default_secret_key_file

KEY_BYTES = 32
KEY_FILE_MODE = 0o600
SECRET_KEY_VARIABLE = "RUNTREE_SECRET_KEY"
_KEY_ID_PURPOSE = "key-id"
_HOW_TO_MAKE = "make one with `runtree secrets generate-key` or `openssl rand -base64 32`"


def generate_key() -> str:
    """A new random master key, in the base64 form the key sources take."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


@dataclasses.dataclass(frozen=True, eq=False)
class MasterKey:
    """32 secret bytes and the public id that names them (8 hex digits, derived from the key,
    so it says which key sealed a value without revealing anything about it)."""

    material: bytes = dataclasses.field(repr=False)
    key_id: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise SecretKeyError(f"a master key is {KEY_BYTES} bytes, not {len(self.material)}")
        object.__setattr__(self, "key_id", self.derive_key(_KEY_ID_PURPOSE, 4).hex())

    def derive_key(self, purpose: str, length: int = KEY_BYTES) -> bytes:
        """A key of ``length`` bytes for one ``purpose``, derived from the master key with
        HKDF-SHA256 (RFC 5869; no salt, ``info`` = ``b"runtree/" + purpose``).

        Use one purpose string per use and never reuse a derived key elsewhere: keys of
        different purposes are independent, so a key given to one use (say
        ``"value-hash/v1"``, an HMAC-SHA256 key for hashing recorded values) reveals nothing
        about the master key or about the keys of other purposes (``"seal/v1"``, the AES-GCM
        key of :mod:`.sealed`). Deterministic: the same master key and purpose always give
        the same bytes, in every process. Note that rotating the master key
        (``runtree secrets rotate``) changes every derived key too; a use whose output must
        stay comparable across a rotation has to store which key id produced it.
        """
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        if not purpose:
            raise ValueError("purpose must name what the derived key is for")
        return HKDF(
            algorithm=hashes.SHA256(),
            length=length,
            salt=None,
            info=b"runtree/" + purpose.encode("utf-8"),
        ).derive(self.material)


def parse_key(text: str, source: str) -> MasterKey:
    """One base64 (standard or URL-safe) master key; :class:`SecretKeyError` naming ``source``
    when ``text`` is not 32 bytes in base64."""
    cleaned = text.strip()
    try:
        material = base64.b64decode(
            cleaned.replace("-", "+").replace("_", "/") + "=" * (-len(cleaned) % 4),
            validate=True,
        )
    except (binascii.Error, ValueError):
        material = b""
    if len(material) != KEY_BYTES:
        raise SecretKeyError(
            f"{source}: not a key (a key is {KEY_BYTES} random bytes in base64; {_HOW_TO_MAKE})"
        )
    return MasterKey(material)


class KeySource:
    """Where a process gets its master keys: ``RUNTREE_SECRET_KEY``'s text, a key file, or an
    in-memory key (see the module docstring). :meth:`master_keys` loads them (the newest first) and
    :meth:`reload` reads the source again; thread-safe."""

    def __init__(
        self,
        *,
        text: str | None = None,
        path: Path | None = None,
        ephemeral: bool = False,
    ) -> None:
        if (text is not None) + (path is not None) + ephemeral != 1:
            raise ValueError("a key source is a text, a file or ephemeral, exactly one")
        self.text = text
        self.path = path
        self._lock = threading.Lock()
        self._keys: list[MasterKey] | None = None
        if ephemeral:
            self._keys = [MasterKey(secrets.token_bytes(KEY_BYTES))]

    @classmethod
    def for_database(cls, database_url: str, key_file: str | Path | None = None) -> KeySource:
        """The source for a database: ``RUNTREE_SECRET_KEY`` when set, else ``key_file``,
        else ``RUNTREE_SECRET_KEY_FILE``, else the default file of the database (an
        in-memory SQLite database: an ephemeral key)."""
        text = environment_value(SECRET_KEY_VARIABLE)
        if text is not None:
            return cls(text=text)
        chosen = key_file or environment_value("RUNTREE_SECRET_KEY_FILE")
        if chosen:
            return cls(path=Path(chosen))
        if _in_memory(database_url):
            return cls(ephemeral=True)
        return cls(path=default_secret_key_file(database_url))

    @property
    def description(self) -> str:
        """Where the keys come from, for messages (never the keys)."""
        if self.text is not None:
            return SECRET_KEY_VARIABLE
        if self.path is not None:
            return f"the key file {self.path}"
        return "an in-memory key"

    @property
    def is_file(self) -> bool:
        return self.path is not None

    def master_keys(self, *, create: bool = False) -> list[MasterKey]:
        """The master keys, newest first (loaded once). ``create``: make the key file when
        it is missing (only when the database holds no sealed value: the caller knows)."""
        with self._lock:
            if self._keys is None:
                self._keys = self._load(create)
            return list(self._keys)

    def reload(self) -> list[MasterKey]:
        """Read the source again (a rotation in another process may have changed the file)."""
        with self._lock:
            if self.text is not None or self.path is not None:
                self._keys = self._load(create=False)
            assert self._keys is not None
            return list(self._keys)

    def loaded(self) -> bool:
        return self._keys is not None

    def _load(self, create: bool) -> list[MasterKey]:
        if self.text is not None:
            parts = [part for part in self.text.split(",") if part.strip()]
            if not parts:
                raise SecretKeyError(f"{SECRET_KEY_VARIABLE} is empty ({_HOW_TO_MAKE})")
            return _distinct(
                [
                    parse_key(part, f"{SECRET_KEY_VARIABLE} (key {n})")
                    for n, part in enumerate(parts, 1)
                ]
            )
        assert self.path is not None
        if create:
            with contextlib.suppress(FileExistsError):
                write_key_file(self.path, [generate_key()], exclusive=True)
        return read_key_file(self.path)

    def write(self, keys: list[str]) -> None:
        """Replace the key file's keys (newest first), atomically; only for a file source."""
        if self.path is None:
            raise SecretKeyError(f"{self.description} cannot be written: change it yourself")
        write_key_file(self.path, keys)
        self.reload()


def read_key_file(path: Path) -> list[MasterKey]:
    """The keys in ``path`` (newest first); refuses a file its group or others may use."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise SecretKeyError(
            f"no secret key: {path} does not exist and {SECRET_KEY_VARIABLE} is not set"
        ) from None
    except OSError as error:
        raise SecretKeyError(f"cannot read the key file {path}: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SecretKeyError(f"the key file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise SecretKeyError(
                f"the key file {path} may be used by others (mode "
                f"{stat.S_IMODE(info.st_mode):04o}): refused; make it private with "
                f"`chmod 600 {path}`"
            )
        data = handle.read(64 * 1024)
    try:
        lines = [line.strip() for line in data.decode("ascii").splitlines() if line.strip()]
    except UnicodeDecodeError:
        lines = []
    if not lines:
        raise SecretKeyError(f"the key file {path} holds no key ({_HOW_TO_MAKE})")
    return _distinct(
        [parse_key(line, f"the key file {path}, line {n}") for n, line in enumerate(lines, 1)]
    )


def write_key_file(path: Path, keys: list[str], *, exclusive: bool = False) -> None:
    """Write ``keys`` (one per line) to ``path`` with mode 0600: atomically (a temporary file
    renamed over it, synced), or, with ``exclusive``, only if ``path`` does not exist yet
    (:class:`FileExistsError` otherwise). Creates the directory (0700) when missing."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = "".join(f"{key}\n" for key in keys).encode("ascii")
    # Written whole under a temporary name first: the key file is never seen half-written.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, KEY_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temporary, path)  # FileExistsError when another process was first
        else:
            os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    with contextlib.suppress(OSError):  # the rename itself survives a crash too
        directory = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _distinct(keys: list[MasterKey]) -> list[MasterKey]:
    seen: set[str] = set()
    unique = []
    for key in keys:
        if key.key_id not in seen:
            seen.add(key.key_id)
            unique.append(key)
    return unique


def _in_memory(database_url: str) -> bool:
    scheme, sep, rest = database_url.partition("://")
    if not sep or scheme.split("+")[0] != "sqlite":
        return False
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    return path in ("", ":memory:") or "mode=memory" in rest
