"""JSON nests at most 64 levels at every entry, and readers survive any stored row (issue 10)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from runtree.jsonlimits import TOO_DEEP_SHOWN
from runtree.store.schema import ExecutionRow

from .helpers import API, assert_problem, deploy, run, store_of

ECHO = "def echo(value=None):\n    return value\n"
REQUEST = "def raw(request):\n    return 1\n"


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def deep_text(levels: int) -> str:
    return "[" * levels + "]" * levels


def assert_names_the_limit(body: dict[str, Any]) -> None:
    assert "64 levels" in body["detail"], body


def test_api_input_past_the_limit_is_422_naming_it(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    accepted = run(client, "default", "echo", input={"value": nested(63)}, wait=False)
    assert accepted.status_code == 202, accepted.text
    body = assert_problem(
        run(client, "default", "echo", input={"value": nested(64)}), 422, "invalid-input"
    )
    assert_names_the_limit(body)
    assert body["errors"] == [{"parameter": "input", "message": body["errors"][0]["message"]}]


def test_an_api_body_too_deep_to_parse_is_400_naming_the_limit(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    response = client.post(
        f"{API}/functions/default/echo/executions",
        content='{"input": {"value": ' + deep_text(20_000) + "}}",
        headers={"content-type": "application/json"},
    )
    assert_names_the_limit(assert_problem(response, 400, "invalid-request"))


def test_a_schedule_input_past_the_limit_is_422(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    response = client.post(
        f"{API}/schedules",
        json={"function": "default/echo", "cron": "0 3 * * *", "input": {"value": nested(100)}},
    )
    assert_names_the_limit(assert_problem(response, 422, "invalid-input"))


def test_webhook_bodies_of_any_depth_are_4xx(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    deploy(client, "default", "raw", REQUEST)
    for function, path in (("default/echo", "deep"), ("default/raw", "deep-raw")):
        response = client.post(f"{API}/webhooks", json={"function": function, "path": path})
        assert response.status_code == 201, response.text
    for body in ('{"value": ' + deep_text(100) + "}", '{"value": ' + deep_text(100_000) + "}"):
        response = client.post("/hooks/deep", content=body)
        assert 400 <= response.status_code < 500, response.text
        assert "64 levels" in response.text
    # A function taking the raw request gets any body as text; the deep body also names a
    # Stripe event (the idempotency key is looked up in it) and must not fail the request.
    body = '{"object": "event", "id": "evt_1", "x": ' + deep_text(100_000) + "}"
    response = client.post("/hooks/deep-raw", content=body)
    assert response.status_code == 202, response.text


def test_listings_tolerate_a_row_stored_before_the_limit(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    execution_id = run(client, "default", "echo", input={"value": 1}, wait=False).json()["id"]
    store = store_of(client)
    with store.engine.begin() as connection:  # as an older runtree could store it
        connection.execute(
            update(ExecutionRow)
            .where(ExecutionRow.id == execution_id)
            .values(input={"value": nested(900)}, output=nested(900))
        )
    listing = client.get(f"{API}/executions")
    assert listing.status_code == 200, listing.text
    shown = next(e for e in listing.json()["executions"] if e["id"] == execution_id)
    assert shown["input"] == TOO_DEEP_SHOWN
    detail = client.get(f"{API}/executions/{execution_id}")
    assert detail.status_code == 200, detail.text
    assert detail.json()["output"] == TOO_DEEP_SHOWN
    assert client.get("/").status_code == 200
