"""Which requests check access without a hop to the thread pool (no I/O needed): on a
``--no-auth`` server, every route that names no stored resource."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from runtree.api import auth, create_app
from runtree.settings import Settings

from .conftest import NullDispatcher


def test_no_auth_routes_naming_no_resource_check_access_without_a_thread_hop(
    tmp_path: Path,
    migrated_database: Callable[[Path], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hops: list[str] = []
    real = auth.run_in_threadpool

    async def counting(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(function.__name__)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(auth, "run_in_threadpool", counting)
    settings = Settings(
        database_url=migrated_database(tmp_path / "api.db"), auth=False, scheduler=False
    )
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
        deployed = client.put(
            "/api/v1/functions/default/add",
            json={"code": "def add(a: int, b: int) -> int:\n    return a + b\n"},
        )
        assert deployed.status_code in (200, 201), deployed.text
        started = client.post(
            "/api/v1/functions/default/add/executions",
            json={"input": {"a": 1, "b": 2}, "wait": False},
        )
        assert started.status_code == 202, started.text
        assert client.get("/api/v1/functions").status_code == 200
        assert hops == []
        # A route naming an execution reads its namespace from the store: that hops.
        execution_id = started.json()["id"]
        assert client.get(f"/api/v1/executions/{execution_id}").status_code == 200
        assert hops == ["_check"]
