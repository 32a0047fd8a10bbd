"""Fixtures of the scale-out tests: a fresh PostgreSQL database each (dropped after)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.store.conftest import PostgresDatabases


@pytest.fixture
def pg_url() -> Iterator[str]:
    databases = PostgresDatabases()
    try:
        yield databases.create()
    finally:
        databases.drop_all()
