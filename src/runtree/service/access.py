"""Access control: API keys, who may do what, and the audit log.

Keys are 256-bit random strings (``rtk_<12 hex>_<43 url-safe characters>``). Only their
sha256 is stored: a key has far too much entropy to be guessed from its hash, so a slow
password hash (bcrypt, scrypt, argon2) would add latency to every request and no safety.
The ``rtk_<12 hex>`` prefix is public: listings show it to tell keys apart. A key is shown
once, when it is created.

Roles, each including the ones before it (:class:`runtree.models.Role`): ``viewer`` reads;
``runner`` also starts, cancels and replays executions; ``developer`` also deploys and
manages webhooks and schedules; ``admin`` also manages keys and reads the audit log. A key
created with a namespace acts in that namespace only (admin keys act everywhere).
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import ConflictError, Forbidden, InvalidKeyRequest, InvalidName, Unauthenticated
from ..models import ApiKeyRecord, AuditRecord, Permission, Role
from ..store import AuditEntry, Store
from .deploy import validate_name

KEY_PREFIX = "rtk_"
_PREFIX_HEX = 12
_CREATE_ATTEMPTS = 5
MAX_KEY_NAME = 200


MIN_ROLE: dict[Permission, Role] = {
    Permission.READ: Role.VIEWER,
    Permission.RUN: Role.RUNNER,
    Permission.DEPLOY: Role.DEVELOPER,
    Permission.MANAGE_TRIGGERS: Role.DEVELOPER,
    Permission.ADMIN: Role.ADMIN,
}


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a role, an optional namespace and the name the audit log shows."""

    role: Role
    namespace: str | None
    actor: str
    key_prefix: str | None = None

    @classmethod
    def local(cls) -> Principal:
        """The CLI working on a database directly: whoever can open the database can do
        everything, so this is an admin (named after the login user in the audit log)."""
        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = "unknown"
        return cls(role=Role.ADMIN, namespace=None, actor=f"local:{user}")

    @classmethod
    def anonymous(cls) -> Principal:
        """Anyone, on a server started with ``--no-auth`` (loopback only)."""
        return cls(role=Role.ADMIN, namespace=None, actor="anonymous (--no-auth)")

    @classmethod
    def of_key(cls, key: ApiKeyRecord) -> Principal:
        label = f"key {key.prefix}" + (f" ({key.name})" if key.name else "")
        return cls(role=key.role, namespace=key.namespace, actor=label, key_prefix=key.prefix)

    def allows(self, permission: Permission, namespace: str | None = None) -> bool:
        if self.role.rank < MIN_ROLE[permission].rank:
            return False
        return namespace is None or self.namespace is None or namespace == self.namespace

    def scope(self, namespace: str | None, permission: Permission = Permission.READ) -> str | None:
        """The namespace filter for a listing asked for ``namespace`` (``None``: all):
        a namespaced key sees its own namespace only. Raises :class:`Forbidden`."""
        authorize(self, permission, namespace)
        return namespace if self.namespace is None else self.namespace


def authorize(principal: Principal, permission: Permission, namespace: str | None = None) -> None:
    """Raise :class:`Forbidden` unless ``principal`` may do ``permission`` (in
    ``namespace``, when the operation concerns one)."""
    needed = MIN_ROLE[permission]
    if principal.role.rank < needed.rank:
        raise Forbidden(
            f"this needs the {needed.value} role (or higher); the key has {principal.role.value}",
            permission=permission,
            namespace=namespace,
        )
    if namespace is not None and principal.namespace not in (None, namespace):
        raise Forbidden(
            f"the key is limited to namespace {principal.namespace!r}",
            permission=permission,
            namespace=namespace,
        )


def hash_key(key: str) -> str:
    """The stored form of a key: sha256, hex (see the module docstring for why not slower)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh ``(key, prefix)``."""
    public = secrets.token_hex(_PREFIX_HEX // 2)
    return f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}", f"{KEY_PREFIX}{public}"


def parse_authorization(header: str | None) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header (``None`` when absent or not
    a bearer token)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# Keys verified recently, per store: (id(store), key hash) -> (principal, expiry). A key
# looked up on every request costs a database read (about 0.6 ms); remembering it for a
# second keeps that off the hot path. Revoking in this process clears it at once; another
# server process sees a revocation within KEY_CACHE_TTL_S.
KEY_CACHE_TTL_S = 1.0
_verified: dict[tuple[int, str], tuple[Principal, float]] = {}


def cached_principal(store: Store, key: str | None) -> Principal | None:
    """The principal of ``key`` if it was verified less than a second ago (no I/O)."""
    if not key:
        return None
    entry = _verified.get((id(store), hash_key(key)))
    if entry is None or entry[1] < time.monotonic():
        return None
    return entry[0]


def authenticate(store: Store, key: str | None) -> Principal:
    """The principal of an API key; :class:`Unauthenticated` for a missing, unknown or
    revoked key (the message never says which, nor echoes the key)."""
    if not key:
        raise Unauthenticated("an API key is required: Authorization: Bearer <key>")
    cached = cached_principal(store, key)
    if cached is not None:
        return cached
    digest = hash_key(key)
    record = store.find_api_key(digest)
    if record is None or not record.active:
        raise Unauthenticated("the API key is not valid (unknown or revoked)")
    principal = Principal.of_key(record)
    if len(_verified) > 10_000:
        _verified.clear()
    _verified[(id(store), digest)] = (principal, time.monotonic() + KEY_CACHE_TTL_S)
    return principal


def create_key(
    store: Store,
    principal: Principal,
    *,
    role: Role | str,
    namespace: str | None = None,
    name: str | None = None,
) -> tuple[str, ApiKeyRecord]:
    """Create a key; returns ``(key, record)`` -- the key itself is never stored or shown
    again."""
    authorize(principal, Permission.ADMIN)
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidKeyRequest("role", f"role must be one of {allowed}, got {role!r}") from None
    if namespace is not None:
        try:
            validate_name("namespace", namespace)
        except InvalidName as error:
            raise InvalidKeyRequest("namespace", str(error)) from None
        if role is Role.ADMIN:
            raise InvalidKeyRequest(
                "namespace", "admin keys act in every namespace: give no namespace"
            )
    if name is not None and (len(name) > MAX_KEY_NAME or not name.isprintable()):
        raise InvalidKeyRequest("name", f"name must be printable, at most {MAX_KEY_NAME} chars")
    for attempt in range(_CREATE_ATTEMPTS):
        key, prefix = new_key()
        try:
            record = store.create_api_key(
                prefix=prefix,
                key_hash=hash_key(key),
                name=name,
                role=role,
                namespace=namespace,
                created_by=principal.actor,
                audit=AuditEntry(
                    actor=principal.actor,
                    action="key.create",
                    target=f"key {prefix}",
                    namespace=namespace,
                    details={"role": role.value, "name": name, "namespace": namespace},
                ),
            )
            return key, record
        except ConflictError:  # a prefix collision: 48 random bits, so never twice
            if attempt == _CREATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def list_keys(
    store: Store, principal: Principal, *, include_revoked: bool = False
) -> list[ApiKeyRecord]:
    authorize(principal, Permission.ADMIN)
    return store.list_api_keys(include_revoked=include_revoked)


def revoke_key(store: Store, principal: Principal, prefix: str) -> ApiKeyRecord:
    """Revoke a key by its prefix (``rtk_...``); it stops working at once."""
    authorize(principal, Permission.ADMIN)
    prefix = prefix.strip()
    if not prefix.startswith(KEY_PREFIX):
        prefix = KEY_PREFIX + prefix
    prefix = prefix[: len(KEY_PREFIX) + _PREFIX_HEX]  # a whole key names its prefix too
    _verified.clear()  # a revoked key stops working at once in this process
    return store.revoke_api_key(
        prefix,
        audit=AuditEntry(actor=principal.actor, action="key.revoke", target=f"key {prefix}"),
    )


def bootstrap_admin_key(store: Store, path: Path) -> str | None:
    """On a server's first start, create an admin key and write it to ``path`` (mode 0600,
    its directory created 0700 if missing). Returns the key when this call created it;
    ``None`` when the database already has (or had) one -- then nothing is written."""
    key, prefix = new_key()
    record = store.bootstrap_admin_key(
        prefix=prefix, key_hash=hash_key(key), name="first admin key", created_by="runtree serve"
    )
    if record is None:
        return None
    write_secret_file(path, key + "\n")
    return key


def write_secret_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by the owner only, atomically: it
    never exists with wider permissions, not even for a moment."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".admin-key-")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_key_file(path: Path) -> str | None:
    """The key in ``path`` (first line), or ``None`` when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    return key or None


# --- audit log ------------------------------------------------------------------------------


def audit(
    store: Store,
    principal: Principal,
    action: str,
    target: str,
    *,
    namespace: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append an entry to the audit log for ``principal``."""
    return store.add_audit(
        AuditEntry(
            actor=principal.actor,
            action=action,
            target=target,
            namespace=namespace,
            details=details or {},
        )
    )


def list_audit(
    store: Store,
    principal: Principal,
    *,
    namespace: str | None = None,
    action: str | None = None,
    limit: int = 50,
    cursor: int | None = None,
) -> tuple[list[AuditRecord], int | None]:
    """The audit log, newest first (admins only)."""
    authorize(principal, Permission.ADMIN)
    return store.list_audit(namespace=namespace, action=action, limit=limit, cursor=cursor)
