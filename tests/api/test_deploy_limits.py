"""A deploy's work is bounded: too many syntax-tree nodes is a clear 422 (issue 10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.instrument.isolated import MAX_AST_NODES
from runtree.settings import Settings

from .conftest import NullDispatcher, authorize_as_admin
from .helpers import API, assert_problem


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app with the default body limit (sources up to the source limit get through)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/api.db", scheduler=False)
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as test_client:
        authorize_as_admin(test_client, settings)
        yield test_client


def test_too_many_syntax_tree_nodes_is_422_naming_the_limit(client: TestClient) -> None:
    code = "def big():\n    return [" + "1," * MAX_AST_NODES + "]\n"
    response = client.put(f"{API}/functions/default/big", json={"code": code})
    body = assert_problem(response, 422, "source-too-complex")
    assert f"{MAX_AST_NODES:,} syntax-tree nodes" in body["detail"]
    assert (body["field"], body["limit"]) == ("code", MAX_AST_NODES)
    assert client.get(f"{API}/functions/default/big").status_code == 404
