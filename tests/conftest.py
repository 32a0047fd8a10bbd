"""Shared fixtures: load user source the way runtree does."""

from __future__ import annotations

import itertools
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


@pytest.fixture
def load() -> Callable[..., dict[str, Any]]:
    return load_module
