"""Fixtures for the HTTP API.

* ``client``: the app on a fresh SQLite file with a dispatcher that runs nothing (executions
  stay ``queued``): fast, for everything that does not need a worker process.
* ``live``: one app for the whole session with the real dispatcher and zygote workers; tests
  using it are ``slow`` and deploy into their own namespace (``namespace`` fixture).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.settings import Settings

BODY_LIMIT = 64 * 1024

_namespaces = itertools.count(1)


class NullDispatcher:
    """Takes nothing from the queue; remembers what it was told."""

    def __init__(self) -> None:
        self.notified = 0
        self.cancelled: list[str] = []

    def start(self) -> None:
        pass

    def notify(self) -> None:
        self.notified += 1

    def cancel(self, execution_id: str) -> bool:
        self.cancelled.append(execution_id)
        return False

    def stop(self, grace: float = 5.0) -> None:
        pass


@pytest.fixture
def dispatcher() -> NullDispatcher:
    return NullDispatcher()


def authorize_as_admin(test_client: TestClient, settings: Settings) -> str:
    """Send the admin key the server created on its first start with every request."""
    key = settings.admin_key_path.read_text().strip()
    test_client.headers["Authorization"] = f"Bearer {key}"
    return key


@pytest.fixture
def client(
    tmp_path: Path, dispatcher: NullDispatcher, migrated_database: Callable[[Path], str]
) -> Iterator[TestClient]:
    """The app as an admin (the server's first admin key in every request's headers)."""
    settings = Settings(
        database_url=migrated_database(tmp_path / "api.db"),
        max_body_bytes=BODY_LIMIT,
        scheduler=False,
    )
    with TestClient(create_app(settings, dispatcher=dispatcher)) as test_client:
        authorize_as_admin(test_client, settings)
        yield test_client


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    directory = tmp_path_factory.mktemp("live")
    settings = Settings(
        database_url=f"sqlite:///{directory}/live.db", workers=2, shutdown_grace_s=1.0
    )
    with TestClient(create_app(settings)) as test_client:
        authorize_as_admin(test_client, settings)
        yield test_client


@pytest.fixture
def namespace() -> str:
    """A namespace of its own for each test sharing the ``live`` app."""
    return f"ns{next(_namespaces)}"
