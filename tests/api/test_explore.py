"""The API behind the web UI: outlines, step pages, one step in full, searches, statistics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from runtree.api.schemas import ExecutionOutline
from runtree.service import explore

from .helpers import API, assert_problem, deploy, store_of

CODE = "def orders(customer_id: int, note: str = ''):\n    return customer_id\n"


def step(
    step_id: int,
    parent_id: int | None,
    start: int,
    duration: int | None,
    status: str = "completed",
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": step_id,
        "parent_id": parent_id,
        "sequence": step_id,
        "depth": 0 if parent_id is None else 1,
        "name": f"s{step_id}",
        "filename": "default/orders.py",
        "lineno": 1,
        "function": "default/orders",
        "version": 1,
        "status": status,
        "started_at_ns": 1_000_000 + start,
        "duration_ns": duration,
        "inputs": {
            "x": {
                "preview": step_id,
                "size": 5,
                "format": "pickle",
                "truncated": False,
                "redacted": False,
            }
        },
        "output": None,
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }
    data.update(extra)
    return data


def finished(
    client: TestClient,
    input: dict[str, Any],
    steps: list[dict[str, Any]],
    status: str = "succeeded",
    version: int | None = None,
) -> str:
    body: dict[str, Any] = {"input": input, "wait": False}
    if version is not None:
        body["version"] = version
    response = client.post(f"{API}/functions/default/orders/executions", json=body)
    assert response.status_code == 202, response.text
    execution_id = str(response.json()["id"])
    store = store_of(client)
    assert store.claim_execution(execution_id, "test") is not None
    store.finish_execution(execution_id, status=status, steps=steps)
    return execution_id


FAILED_STEPS = [
    step(
        1,
        None,
        0,
        100,
        "failed",
        error={"type": "KeyError", "message": "'x'", "traceback": [], "from_step": 3},
    ),
    step(2, 1, 0, 60, aggregates=[{"name": "fib", "count": 40, "total_ns": 30, "errors": 0}]),
    step(
        3,
        1,
        60,
        30,
        "failed",
        error={
            "type": "KeyError",
            "message": "'x'",
            "traceback": [
                {"filename": "default/orders.py", "lineno": 2, "name": "s3", "line": "raise"}
            ],
        },
        stdout="printed\n",
    ),
    step(4, 2, 10, 20),
]


def test_outline_has_every_step_without_payloads_and_both_paths(client: TestClient) -> None:
    deploy(client, "default", "orders", CODE)
    execution_id = finished(client, {"customer_id": 1}, FAILED_STEPS, "failed")
    response = client.get(f"{API}/executions/{execution_id}/outline")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    ExecutionOutline.model_validate(body)  # the hand-built document matches its schema
    assert body["execution"]["id"] == execution_id and body["execution"]["status"] == "failed"
    steps = {s["id"]: s for s in body["steps"]}
    assert [s["id"] for s in body["steps"]] == [1, 2, 3, 4]
    assert "inputs" not in steps[1] and "stdout" not in steps[3]
    assert steps[3]["stdout_size"] == 8
    assert steps[3]["error"] == {"type": "KeyError", "message": "'x'"}
    assert (steps[1]["children"], steps[2]["children"], steps[4]["children"]) == (2, 1, 0)
    assert (steps[1]["self_ns"], steps[2]["self_ns"], steps[4]["self_ns"]) == (10, 40, 20)
    assert steps[2]["aggregates"] == [{"name": "fib", "count": 40, "total_ns": 30, "errors": 0}]
    assert body["failing_path"] == [1, 3]
    assert body["critical_path"] == [1, 2, 4]


def test_large_outlines_are_gzipped_when_the_client_accepts_it(client: TestClient) -> None:
    deploy(client, "default", "orders", CODE)
    many = [step(1, None, 0, 10_000)] + [step(i, 1, i, 1) for i in range(2, 200)]
    execution_id = finished(client, {"customer_id": 1}, many)
    url = f"{API}/executions/{execution_id}/outline"
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert len(zipped.json()["steps"]) == 199  # httpx inflates it
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert json.loads(plain.content) == zipped.json()


def test_steps_page_by_parent_and_cursor(client: TestClient) -> None:
    deploy(client, "default", "orders", CODE)
    execution_id = finished(client, {"customer_id": 1}, FAILED_STEPS, "failed")
    url = f"{API}/executions/{execution_id}/steps"
    assert [s["id"] for s in client.get(url, params={"parent": "root"}).json()["steps"]] == [1]
    children = client.get(url, params={"parent": 1}).json()
    assert [(s["id"], s["children"]) for s in children["steps"]] == [(2, 1), (3, 0)]
    first = client.get(url, params={"limit": 3}).json()
    assert [s["id"] for s in first["steps"]] == [1, 2, 3] and first["next_cursor"] == 3
    rest = client.get(url, params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [s["id"] for s in rest["steps"]] == [4] and rest["next_cursor"] is None
    assert_problem(client.get(url, params={"parent": "x"}), 422, "invalid-request")
    assert_problem(client.get(f"{API}/executions/{'0' * 32}/steps"), 404, "not-found")


def test_one_step_in_full_with_its_time_split(client: TestClient) -> None:
    deploy(client, "default", "orders", CODE)
    execution_id = finished(client, {"customer_id": 1}, FAILED_STEPS, "failed")
    body = client.get(f"{API}/executions/{execution_id}/steps/2").json()
    assert body["inputs"]["x"]["preview"] == 2
    assert (body["children"], body["self_ns"], body["children_ns"]) == (1, 40, 20)
    failed = client.get(f"{API}/executions/{execution_id}/steps/3").json()
    assert failed["stdout"] == "printed\n"
    assert failed["error"]["traceback"][0]["lineno"] == 2
    assert_problem(client.get(f"{API}/executions/{execution_id}/steps/99"), 404, "not-found")
    assert_problem(client.get(f"{API}/executions/{'0' * 32}/steps/1"), 404, "not-found")
    assert_problem(
        client.get(f"{API}/executions/{execution_id}/outline".replace(execution_id, "0" * 32)),
        404,
        "not-found",
    )


def test_list_executions_searches_inputs_and_filters_version_and_time(
    client: TestClient,
) -> None:
    deploy(client, "default", "orders", CODE)
    ada = finished(client, {"customer_id": 42, "note": "Ada"}, [])
    deploy(client, "default", "orders", CODE + "# v2\n")
    bob = finished(client, {"customer_id": 7, "note": "Bob"}, [], version=2)

    def listed(**params: Any) -> list[str]:
        response = client.get(f"{API}/executions", params=params)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["executions"]]

    assert listed(q="ada") == [ada]
    assert listed(q="customer_id=7") == [bob]
    assert listed(function="orders", version=1) == [ada]
    ada_time = client.get(f"{API}/executions/{ada}").json()["queued_at"]
    assert listed(until=ada_time) == []
    assert listed(since=ada_time) == [bob, ada]
    assert listed(since="2000-01-01T00:00:00") == [bob, ada]  # no zone: UTC
    assert_problem(client.get(f"{API}/executions", params={"q": "x" * 201}), 422, "invalid-request")
    assert_problem(
        client.get(f"{API}/executions", params={"since": "yesterday"}), 422, "invalid-request"
    )


def test_function_stats_per_version(client: TestClient) -> None:
    deploy(client, "default", "orders", CODE)
    finished(client, {"customer_id": 1}, FAILED_STEPS, "failed")
    finished(client, {"customer_id": 1}, [step(1, None, 0, 50), step(2, 1, 0, 10)])
    finished(client, {"customer_id": 1}, [], "cancelled")
    deploy(client, "default", "orders", CODE + "# v2\n")
    body = client.get(f"{API}/functions/default/orders/stats", params={"version": 1}).json()
    assert body["function"] == "default/orders"
    v2, v1 = body["versions"]
    assert (v2["version"], v2["runs"], v2["error_rate"], v2["slowest_steps"]) == (2, 0, None, None)
    assert v1["runs"] == 3 and v1["statuses"] == {"cancelled": 1, "failed": 1, "succeeded": 1}
    assert v1["error_rate"] == 0.5
    assert v1["sampled"] == 3 and v1["p50_ms"] is not None
    assert v1["recent_runs"] == 3
    slow = {s["name"]: s for s in v1["slowest_steps"]}
    assert slow["s1"]["calls"] == 2 and slow["s1"]["total_self_ns"] == 10 + 40
    assert slow["s1"]["max_self_ns"] == 40 and slow["s1"]["runs"] == 2
    assert slow["s2"]["total_self_ns"] == 40 + 10
    assert [s["name"] for s in v1["slowest_steps"]][:2] == ["s1", "s2"]
    default = client.get(f"{API}/functions/default/orders/stats").json()
    assert default["versions"][0]["slowest_steps"] == []  # current version, no runs
    assert_problem(client.get(f"{API}/functions/default/nope/stats"), 404, "not-found")
    assert_problem(
        client.get(f"{API}/functions/default/orders/stats", params={"version": 9}), 404, "not-found"
    )


def test_slowest_steps_read_a_bounded_number_of_steps(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(client, "default", "orders", CODE)
    for _ in range(3):
        finished(client, {"customer_id": 1}, [step(1, None, 0, 50), step(2, 1, 0, 10)])
    monkeypatch.setattr(explore, "MAX_STATS_STEPS", 5)
    v1 = client.get(f"{API}/functions/default/orders/stats").json()["versions"][0]
    assert v1["runs"] == 3 and v1["recent_runs"] == 2
    assert {s["name"]: s["calls"] for s in v1["slowest_steps"]} == {"s1": 2, "s2": 2}


def test_io_steps_are_told_apart_in_every_step_document(client: TestClient) -> None:
    """An outbound request is a step of kind ``io`` with its method, URL and status in the
    execution's steps (``StepOut``) as in the outline and the full step; calls are ``call``."""
    deploy(client, "default", "orders", CODE)
    io = {"method": "GET", "url": "https://partner.example/orders/7", "status": 200}
    steps = [step(1, None, 0, 100), step(2, 1, 10, 50, name="GET orders", kind="io", io=io)]
    execution_id = finished(client, {"customer_id": 1}, steps)
    detail = client.get(f"{API}/executions/{execution_id}").json()
    outline = client.get(f"{API}/executions/{execution_id}/outline").json()
    full = client.get(f"{API}/executions/{execution_id}/steps/2").json()
    for document in (detail["steps"], outline["steps"]):
        assert [(s["kind"], s["io"]) for s in document] == [("call", None), ("io", io)]
    assert (full["kind"], full["io"]) == ("io", io)
    schema = client.get(f"{API}/openapi.json").json()["components"]["schemas"]["StepOut"]
    assert {"kind", "io"} <= set(schema["properties"])
