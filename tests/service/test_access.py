"""Keys, roles, the first admin key and the settings around access control."""

from __future__ import annotations

import concurrent.futures
import stat
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest

from runtree.models import Role
from runtree.service import Forbidden, Permission, Principal, Unauthenticated, access, authorize
from runtree.settings import Settings, default_admin_key_file, is_loopback
from runtree.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path}/access.db") as opened:
        yield opened


def test_roles_include_the_ones_below_and_namespaces_limit() -> None:
    runner = Principal(role=Role.RUNNER, namespace="shop", actor="k")
    authorize(runner, Permission.READ, "shop")
    authorize(runner, Permission.RUN, "shop")
    for permission, namespace in [
        (Permission.DEPLOY, "shop"),
        (Permission.RUN, "other"),
        (Permission.ADMIN, None),
    ]:
        with pytest.raises(Forbidden):
            authorize(runner, permission, namespace)
    assert runner.scope(None) == "shop"
    with pytest.raises(Forbidden):
        runner.scope("other")
    admin = Principal(role=Role.ADMIN, namespace=None, actor="a")
    assert admin.scope(None) is None and admin.scope("x") == "x"


def test_keys_authenticate_until_revoked_and_only_their_hash_is_stored(store: Store) -> None:
    key, record = access.create_key(
        store, Principal.local(), role="developer", namespace="shop", name="ci"
    )
    assert key.startswith(record.prefix + "_") and len(key) > 50
    principal = access.authenticate(store, key)
    assert (principal.role, principal.namespace) == (Role.DEVELOPER, "shop")
    assert principal.actor == f"key {record.prefix} (ci)"
    with store.engine.connect() as conn:
        (stored,) = conn.exec_driver_sql("SELECT key_hash, prefix FROM api_keys").fetchall()
    assert stored == (access.hash_key(key), record.prefix) and key not in repr(stored)
    for wrong in (None, "", key + "x", key[:-1]):
        with pytest.raises(Unauthenticated):
            access.authenticate(store, wrong)
    access.revoke_key(store, Principal.local(), key)  # the whole key names its prefix too
    with pytest.raises(Unauthenticated):
        access.authenticate(store, key)
    with pytest.raises(Forbidden):
        access.create_key(store, principal, role="viewer")


def test_parse_authorization() -> None:
    assert access.parse_authorization("Bearer abc") == "abc"
    assert access.parse_authorization("bearer  abc ") == "abc"
    for header in (None, "", "Basic abc", "Bearer", "Bearer "):
        assert access.parse_authorization(header) is None


def test_the_first_admin_key_is_created_once_even_by_concurrent_starts(
    store: Store, tmp_path: Path
) -> None:
    target = tmp_path / "keys" / "admin-key"
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        made = list(pool.map(lambda _: access.bootstrap_admin_key(store, target), range(6)))
    created = [key for key in made if key is not None]
    assert len(created) == 1
    assert target.read_text().strip() == created[0]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert access.authenticate(store, created[0]).role == Role.ADMIN
    assert access.bootstrap_admin_key(store, target) is None
    (entry,) = store.list_audit(action="key.create")[0]
    assert entry.details["bootstrap"] is True


def test_no_bootstrap_when_an_admin_key_exists(store: Store, tmp_path: Path) -> None:
    access.create_key(store, Principal.local(), role="admin")
    assert access.bootstrap_admin_key(store, tmp_path / "k") is None
    assert not (tmp_path / "k").exists()


def test_no_auth_only_on_loopback() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host)
        Settings(auth=False, host=host)
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.com"):
        assert not is_loopback(host)
        with pytest.raises(pydantic.ValidationError, match="loopback"):
            Settings(auth=False, host=host)
    Settings(auth=True, host="0.0.0.0")


def test_admin_key_file_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_admin_key_file("sqlite:///runtree.db") == Path("runtree.db.admin-key")
    assert default_admin_key_file("sqlite:////srv/rt/x.db") == Path("/srv/rt/x.db.admin-key")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_admin_key_file("postgresql://u@h/db") == tmp_path / "runtree" / "admin-key"
    assert default_admin_key_file("sqlite://") == tmp_path / "runtree" / "admin-key"
    monkeypatch.setenv("RUNTREE_ADMIN_KEY_FILE", str(tmp_path / "mine"))
    assert Settings.load().admin_key_path == tmp_path / "mine"


def test_verified_keys_are_remembered_briefly_and_revocation_clears_them(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _record = access.create_key(store, Principal.local(), role="viewer")
    lookups = []
    original = store.find_api_key
    monkeypatch.setattr(store, "find_api_key", lambda digest: lookups.append(1) or original(digest))
    access.authenticate(store, key)
    access.authenticate(store, key)
    assert len(lookups) == 1  # the second request needs no database read
    access.revoke_key(store, Principal.local(), key)
    with pytest.raises(Unauthenticated):
        access.authenticate(store, key)  # revoked: at once, cache or not
    now = [0.0]
    monkeypatch.setattr(access.time, "monotonic", lambda: now[0])
    access._verified.clear()
    key2, _ = access.create_key(store, Principal.local(), role="viewer")
    access.authenticate(store, key2)
    now[0] = access.KEY_CACHE_TTL_S + 0.01
    access.authenticate(store, key2)
    assert len(lookups) == 4  # after the TTL the key is read again
