"""Shared fixtures: load user source the way runtree does."""

from __future__ import annotations

import itertools
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import pytest

import runtree

_counter = itertools.count()


def load_module(source: str, name: str | None = None, *, version: Any = None) -> dict[str, Any]:
    """Instrument ``source`` and run its definitions in a fresh namespace."""
    name = name or f"user_module_{next(_counter)}"
    namespace: dict[str, Any] = {"__name__": name}
    exec(runtree.instrument(source, f"{name}.py", version=version), namespace)
    return namespace


def _start_rank(item: pytest.Item) -> int:
    """0 for tests that take minutes, 1 for the other end-to-end tests, 2 for the rest."""
    if item.get_closest_marker("long"):
        return 0
    if any(item.get_closest_marker(name) for name in ("slow", "postgres", "browser")):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first (a stable sort: each group keeps its order): run in parallel
    (``make test``), the test processes take the minutes-long tests at the start and the many
    short ones fill the end, so all of them finish at about the same time instead of one
    starting a long test when the others are done."""
    items.sort(key=_start_rank)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Callable[[pathlib.Path], str]:
    """``migrated_database(path)``: a SQLite database at ``path``, already at the newest
    migration, and its URL. The schema is migrated once per session and copied for each test
    (a file copy instead of an Alembic run)."""
    from runtree.store import Store  # not for the tracking tests, which need no database

    template = tmp_path_factory.mktemp("template") / "runtree.db"
    Store(f"sqlite:///{template}").close()
    assert not template.with_name("runtree.db-wal").exists()  # checkpointed: the file is whole

    def copy(path: pathlib.Path) -> str:
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return copy


@pytest.fixture
def load() -> Callable[..., dict[str, Any]]:
    return load_module
