"""``GET /find``: the executions that handled a value, over HTTP (the document ``runtree find
--json`` prints remotely), restricted to the caller's namespace."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from runtree.api.schemas.find import FindPage

from .helpers import API, assert_problem, deploy_examples, run

pytestmark = pytest.mark.slow


def test_find_over_http(live: TestClient, namespace: str) -> None:
    deploy_examples(live, namespace)
    ada = run(live, namespace, "calculate_order_total", input={"customer_id": 42}).json()["id"]
    function = f"{namespace}/calculate_order_total"

    response = live.get(f"{API}/find", params={"value": "ADA", "function": function})
    assert response.status_code == 200, response.text
    page = FindPage.model_validate(response.json())
    assert [r.execution.id for r in page.results] == [ada] and page.next_cursor is None
    assert {(s.kind, s.key) for s in page.results[0].steps} >= {
        ("output", "name"),
        ("output", "customer"),
    }
    keyed = live.get(
        f"{API}/find", params={"value": "42.0", "key": "customer_id", "function": function}
    ).json()
    assert [r["execution"]["id"] for r in keyed["results"]] == [ada]
    other = live.get(f"{API}/find", params={"value": "ada", "function": "nobody/f"}).json()
    assert other == {"results": [], "next_cursor": None}

    assert_problem(live.get(f"{API}/find", params={"value": " "}), 422, "invalid-data")
    assert live.get(f"{API}/find").status_code == 422
    assert live.get(f"{API}/find", params={"value": "a", "cursor": "x"}).status_code == 422
