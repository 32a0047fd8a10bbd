"""Starting, listing and cancelling executions, with a dispatcher that runs nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from .conftest import NullDispatcher
from .helpers import API, assert_problem, deploy, run, store_of

TAX = (
    "def tax(amount: float, country: str, *, rate: float | None = None) -> float:\n"
    "    return amount * (rate or 0.2)\n"
)


def executions(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}/executions", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_input_problems_name_the_parameter_and_create_nothing(client: TestClient) -> None:
    deploy(client, "default", "tax", TAX)
    cases = [
        ({"amount": 10}, {"country": "missing required parameter"}),
        ({"amount": 10, "country": "NL", "colour": "red"}, {"colour": "unknown parameter"}),
        ({"amount": "ten", "country": "NL"}, {"amount": "valid number"}),
        ({"amount": 10, "country": 7, "rate": "x"}, {"country": "valid string", "rate": ""}),
    ]
    for given, expected in cases:
        body = assert_problem(run(client, "default", "tax", input=given), 422, "invalid-input")
        found = {e["parameter"]: e["message"] for e in body["errors"]}
        assert set(found) == set(expected), body
        for parameter, words in expected.items():
            assert words in found[parameter]
            assert parameter in body["detail"]
    assert executions(client)["executions"] == []


def test_input_must_be_an_object(client: TestClient) -> None:
    deploy(client, "default", "tax", TAX)
    response = run(client, "default", "tax", input=[10, "NL"])
    assert assert_problem(response, 422, "invalid-request")["field"] == "input"
    response = run(client, "default", "tax", input={"amount": 1, "country": "NL"}, wait="yes")
    assert assert_problem(response, 422, "invalid-request")["field"] == "wait"
    assert executions(client)["executions"] == []


def test_unknown_function_or_version_is_404(client: TestClient) -> None:
    body = assert_problem(run(client, "default", "nope", input={}), 404, "not-found")
    assert body["kind"] == "function"
    deploy(client, "default", "tax", TAX)
    response = run(client, "default", "tax", input={"amount": 1, "country": "NL"}, version=3)
    assert assert_problem(response, 404, "not-found")["kind"] == "version"


def test_no_wait_is_202_with_location(client: TestClient, dispatcher: NullDispatcher) -> None:
    deploy(client, "default", "tax", TAX)
    response = run(client, "default", "tax", input={"amount": 10, "country": "NL"}, wait=False)
    assert response.status_code == 202
    body = response.json()
    assert body == {"id": body["id"], "status": "queued"}
    assert response.headers["location"] == f"{API}/executions/{body['id']}"
    assert dispatcher.notified == 1

    execution = client.get(response.headers["location"]).json()
    assert execution["status"] == "queued" and execution["trigger"] == "api"
    assert execution["input"] == {"amount": 10, "country": "NL"}
    assert execution["versions"] == {"tax": 1} and execution["steps"] == []
    tree = client.get(f"{API}/executions/{body['id']}/tree")
    assert tree.status_code == 200 and tree.headers["content-type"].startswith("text/plain")


def test_wait_that_times_out_is_202(client: TestClient) -> None:
    deploy(client, "default", "tax", TAX)
    started = time.monotonic()
    response = run(client, "default", "tax", input={"amount": 1, "country": "NL"}, timeout_s=0.2)
    assert 0.2 <= time.monotonic() - started < 2
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert "location" in response.headers


def test_cancel_queued_wakes_a_waiting_request(client: TestClient) -> None:
    deploy(client, "default", "tax", TAX)
    answers: list[Any] = []
    waiter = threading.Thread(
        target=lambda: answers.append(
            run(client, "default", "tax", input={"amount": 1, "country": "NL"}, timeout_s=20)
        )
    )
    started = time.monotonic()
    waiter.start()
    deadline = time.monotonic() + 10
    while not executions(client)["executions"]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    execution_id = executions(client)["executions"][0]["id"]
    cancelled = client.post(f"{API}/executions/{execution_id}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    waiter.join(10)
    assert time.monotonic() - started < 5  # woken by the cancel, not by the 20 s timeout
    assert answers[0].status_code == 200
    assert answers[0].json()["status"] == "cancelled"
    assert answers[0].json()["error"]["type"] == "Cancelled"
    again = client.post(f"{API}/executions/{execution_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_cancel_running_is_202_and_reaches_the_dispatcher(
    client: TestClient, dispatcher: NullDispatcher
) -> None:
    deploy(client, "default", "tax", TAX)
    execution_id = run(
        client, "default", "tax", input={"amount": 1, "country": "NL"}, wait=False
    ).json()["id"]
    assert store_of(client).claim_execution(execution_id, "elsewhere") is not None
    response = client.post(f"{API}/executions/{execution_id}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "running" and response.json()["cancel_requested"]
    assert dispatcher.cancelled == [execution_id]


def test_listing_filters_and_pagination(client: TestClient) -> None:
    deploy(client, "default", "tax", TAX)
    deploy(client, "other", "tax", TAX)
    ids = []
    for amount in range(5):
        response = run(
            client, "default", "tax", input={"amount": amount, "country": "NL"}, wait=False
        )
        ids.append(response.json()["id"])
    other = run(client, "other", "tax", input={"amount": 1, "country": "NL"}, wait=False)
    client.post(f"{API}/executions/{ids[0]}/cancel")

    everything = executions(client)
    assert [e["id"] for e in everything["executions"]] == [other.json()["id"], *reversed(ids)]
    assert everything["next_cursor"] is None

    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"function": "default/tax", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = executions(client, **params)
        pages.append([e["id"] for e in page["executions"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [ids[4:2:-1], ids[2:0:-1], ids[:1]]

    assert len(executions(client, function="tax")["executions"]) == 5  # namespace default
    assert len(executions(client, function="other/tax")["executions"]) == 1
    assert executions(client, function="default/nope")["executions"] == []
    cancelled = executions(client, status="cancelled")["executions"]
    assert [e["id"] for e in cancelled] == [ids[0]]
    assert len(executions(client, status="queued", trigger="api")["executions"]) == 5
    assert executions(client, trigger="schedule")["executions"] == []

    function = client.get(f"{API}/functions/default/tax").json()
    assert function["run_count"] == 5 and function["last_status"] == "queued"


def test_listing_rejects_bad_filters(client: TestClient) -> None:
    for params, field in (
        ({"status": "exploded"}, "status"),
        ({"trigger": "magic"}, "trigger"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"function": "a/b/c"}, "function"),
    ):
        response = client.get(f"{API}/executions", params=params)
        assert assert_problem(response, 422, "invalid-request")["field"] == field
