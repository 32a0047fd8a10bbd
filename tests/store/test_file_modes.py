"""The database, its -wal and -shm files, and the admin key are private files (issue 10)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtree.service.access import bootstrap_admin_key
from runtree.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask, under which new files are world-readable unless made otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    database = tmp_path / "runtree.db"
    with Store(f"sqlite:///{database}") as store:
        store.get_function("default", "f")  # touch it: the -wal and -shm exist while open
        files = {p.name: mode(p) for p in tmp_path.iterdir()}
    assert files["runtree.db"] == 0o600
    assert files["runtree.db-wal"] == 0o600 and files["runtree.db-shm"] == 0o600


def test_an_existing_readable_database_of_ours_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    with Store(f"sqlite:///{database}") as store:
        store.get_function("default", "f")
    assert mode(database) == 0o600


def test_the_admin_key_and_its_new_directory_are_private(tmp_path: Path) -> None:
    key_file = tmp_path / "config" / "runtree" / "admin-key"
    with Store(f"sqlite:///{tmp_path / 'runtree.db'}") as store:
        assert bootstrap_admin_key(store, key_file) is not None
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700


def test_the_sandbox_state_directories_are_created_with_their_modes(tmp_path: Path) -> None:
    from runtree.execution.sandbox.uid_locks import state_dirs

    state = tmp_path / "state"
    jobs, locks = state_dirs(str(state), root=True, uid_locks=str(tmp_path / "uids"))
    # The slot uids reach their own work directories but list nothing; the uid locks are
    # the server's alone.
    assert mode(state) == 0o711 and mode(Path(jobs)) == 0o711
    assert mode(Path(locks)) == 0o700
    Path(locks).chmod(0o755)  # widened by someone: set back on the next start
    state_dirs(str(state), root=True, uid_locks=str(tmp_path / "uids"))
    assert mode(Path(locks)) == 0o700
