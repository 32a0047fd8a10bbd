"""``GET /executions/{a}/compare/{b}``: two real runs of the order example compared by their
trees through the API (the same document as ``runtree compare --json``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from runtree.api.schemas.comparisons import ComparisonOut

from .helpers import API, assert_problem, deploy_examples, run

pytestmark = pytest.mark.slow


def test_compare_two_runs(live: TestClient, namespace: str) -> None:
    deploy_examples(live, namespace)
    ada = run(live, namespace, "calculate_order_total", input={"customer_id": 42}).json()["id"]
    missing = run(live, namespace, "calculate_order_total", input={"customer_id": 3}).json()["id"]

    response = live.get(f"{API}/executions/{ada}/compare/{missing}")
    assert response.status_code == 200, response.text
    document = response.json()
    ComparisonOut.model_validate(document)  # the declared schema holds
    assert (document["a"]["id"], document["b"]["id"]) == (ada, missing)
    assert (document["a"]["status"], document["b"]["status"]) == ("succeeded", "failed")
    assert document["first_divergence"] == {
        "row": 1,
        "reason": "failure",
        "path": ["calculate_order_total", "get_customer"],
    }
    assert [row["kind"] for row in document["rows"]] == [
        "changed",
        "changed",
        "removed",
        "removed",
        "removed",
    ]
    assert document["rows"][1]["inputs"] == [
        {"key": "customer_id", "change": "changed", "a": 42, "b": 3, "redacted": False}
    ]

    same = live.get(f"{API}/executions/{ada}/compare/{ada}").json()
    assert same["identical"] and same["first_divergence"] is None

    unknown = "f" * 32
    assert_problem(live.get(f"{API}/executions/{ada}/compare/{unknown}"), 404, "not-found")
    assert live.get(f"{API}/executions/{ada}/compare/nothex").status_code == 422
