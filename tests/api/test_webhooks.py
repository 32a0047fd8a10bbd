"""Webhooks over HTTP: signatures (the providers' schemes), what the function receives, what
is recorded, idempotency, modes, limits and errors."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from runtree.api import create_app
from runtree.settings import Settings
from runtree.store.schema import IdempotencyKeyRow

from .conftest import NullDispatcher, authorize_as_admin
from .helpers import API, assert_problem, deploy, poll, store_of

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
ECHO = "def echo(request):\n    return request\n"
ADD = "def add(x: int, y: int = 1):\n    return x + y\n"


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def create_webhook(client: TestClient, function: str, path: str, **options: Any) -> Any:
    response = client.post(f"{API}/webhooks", json={"function": function, "path": path, **options})
    assert response.status_code == 201, response.text
    return response.json()


def webhook_executions(client: TestClient) -> list[dict[str, Any]]:
    response = client.get(f"{API}/executions", params={"trigger": "webhook"})
    return list(response.json()["executions"])


def deliveries(client: TestClient, path: str) -> list[dict[str, Any]]:
    return list(client.get(f"{API}/webhooks/{path}/deliveries").json()["deliveries"])


def test_github_published_example_starts_the_function_with_the_raw_request(
    client: TestClient,
) -> None:
    deploy(client, "default", "echo", ECHO)
    create_webhook(client, "echo", "github", verify="github", secret=GITHUB_SECRET)
    headers = {
        "X-Hub-Signature-256": GITHUB_SIGNATURE,
        "X-GitHub-Event": "ping",
        "Content-Type": "text/plain",
        "Cookie": "session=abc",
    }
    response = client.post("/hooks/github?a=1&a=2&b=", content=b"Hello, World!", headers=headers)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued" and accepted["duplicate"] is False
    assert response.headers["location"] == f"{API}/executions/{accepted['execution_id']}"
    execution = client.get(f"{API}/executions/{accepted['execution_id']}").json()
    assert execution["trigger"] == "webhook"
    request = execution["input"]["request"]
    assert request["method"] == "POST" and request["path"] == "/hooks/github"
    assert request["query"] == {"a": ["1", "2"], "b": ""}
    assert request["body"] == "Hello, World!" and request["body_encoding"] == "utf-8"
    assert request["headers"]["x-github-event"] == "ping"
    assert request["headers"]["x-hub-signature-256"] == "[redacted]"
    assert request["headers"]["cookie"] == "[redacted]"
    # The delivery, recorded on the execution: raw body byte for byte, secrets redacted.
    delivery = client.get(f"{API}/executions/{accepted['execution_id']}/delivery").json()
    assert base64.b64decode(delivery["body_base64"]) == b"Hello, World!"
    assert delivery["status"] == "accepted" and delivery["query_string"] == "a=1&a=2&b="
    recorded = dict(delivery["headers"])
    assert recorded["x-hub-signature-256"] == "[redacted]" and recorded["cookie"] == "[redacted]"
    assert GITHUB_SIGNATURE[7:] not in json.dumps(delivery) + json.dumps(execution)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": GITHUB_SIGNATURE.replace("7", "8")},
        {"X-Hub-Signature-256": "sha256="},
        {"X-Hub-Signature": "sha1=abc"},
    ],
)
def test_a_bad_or_missing_signature_is_401_recorded_and_runs_nothing(
    client: TestClient, dispatcher: NullDispatcher, headers: dict[str, str]
) -> None:
    deploy(client, "default", "echo", ECHO)
    create_webhook(client, "echo", "github", verify="github", secret=GITHUB_SECRET)
    response = client.post("/hooks/github", content=b"Hello, World!", headers=headers)
    problem = assert_problem(response, 401, "signature-invalid")
    assert GITHUB_SECRET not in response.text
    assert webhook_executions(client) == [] and dispatcher.notified == 0
    (rejected,) = deliveries(client, "github")
    assert rejected["status"] == "rejected" and rejected["execution_id"] is None
    assert rejected["reason"] and rejected["reason"] in problem["detail"]
    detail = client.get(f"{API}/deliveries/{rejected['id']}").json()
    assert base64.b64decode(detail["body_base64"]) == b"Hello, World!"


def test_stripe_signature_timestamp_tolerance_and_event_idempotency(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    secret = "whsec_" + "x" * 32
    create_webhook(client, "echo", "stripe", verify="stripe", secret=secret)
    body = json.dumps(
        {
            "id": "evt_1NG8Du2eZvKYlo2CUI79vXWy",
            "object": "event",
            "type": "payment_intent.succeeded",
        }
    ).encode()

    def header(timestamp: int) -> dict[str, str]:
        signed = sign(secret, f"{timestamp}.".encode() + body)
        return {"Stripe-Signature": f"t={timestamp},v1={signed}"}

    now = int(time.time())
    first = client.post("/hooks/stripe", content=body, headers=header(now))
    assert first.status_code == 202, first.text
    again = client.post("/hooks/stripe", content=body, headers=header(now + 1))
    assert again.status_code == 202
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.json()["duplicate"] is True
    stale = client.post("/hooks/stripe", content=body, headers=header(now - 400))
    assert "tolerance" in assert_problem(stale, 401, "signature-invalid")["detail"]
    assert len(webhook_executions(client)) == 1
    statuses = [d["status"] for d in deliveries(client, "stripe")]
    assert statuses == ["rejected", "duplicate", "accepted"]
    key = deliveries(client, "stripe")[1]["idempotency_key"]
    assert key == "stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy"


def test_slack_signature(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    create_webhook(client, "echo", "slack", verify="slack", secret="8f742231b10e8888abcd99yy")
    body = b"token=xyz&command=%2Fdeploy&text=prod"
    timestamp = str(int(time.time()))
    signature = "v0=" + sign("8f742231b10e8888abcd99yy", f"v0:{timestamp}:".encode() + body)
    headers = {
        "X-Slack-Signature": signature,
        "X-Slack-Request-Timestamp": timestamp,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert client.post("/hooks/slack", content=body, headers=headers).status_code == 202
    headers["X-Slack-Request-Timestamp"] = str(int(timestamp) - 1)
    assert_problem(
        client.post("/hooks/slack", content=body, headers=headers), 401, "signature-invalid"
    )


def test_generic_hmac_and_a_generated_secret_shown_once(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    created = create_webhook(client, "add", "orders", verify="hmac-sha256")
    secret = created["secret"]
    assert secret and len(secret) >= 32
    body = b'{"x": 41}'
    response = client.post(
        "/hooks/orders", content=body, headers={"X-Signature-256": "sha256=" + sign(secret, body)}
    )
    assert response.status_code == 202, response.text
    execution = client.get(f"{API}/executions/{response.json()['execution_id']}").json()
    assert execution["input"] == {"x": 41}  # a JSON object maps to the parameters
    for path in ("/webhooks", "/webhooks/orders", "/webhooks/orders/deliveries", "/audit"):
        assert secret not in client.get(API + path).text


def test_stripe_and_slack_need_the_provider_secret(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    for scheme in ("stripe", "slack"):
        response = client.post(
            f"{API}/webhooks", json={"function": "add", "path": scheme, "verify": scheme}
        )
        assert assert_problem(response, 422, "invalid-request")["field"] == "secret"


def test_body_that_does_not_fit_the_function_is_422_and_recorded(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    create_webhook(client, "add", "add")
    for body in (b'{"x": "one"}', b'{"z": 1}', b"[1, 2]", b"not json", b"\xff", b'{"x": NaN}'):
        response = client.post("/hooks/add", content=body)
        assert_problem(response, 422, "invalid-input")
    assert webhook_executions(client) == []
    recorded = deliveries(client, "add")
    assert len(recorded) == 6 and {d["status"] for d in recorded} == {"rejected"}
    assert client.post("/hooks/add", content=b"").status_code == 422  # x is required


def test_binary_bodies_reach_request_as_base64(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    create_webhook(client, "echo", "bin")
    raw = bytes(range(256))
    response = client.post(
        "/hooks/bin",
        content=raw,
        headers={"Authorization": "Bearer top-secret", "X-Api-Token": "also-secret"},
    )
    execution = client.get(f"{API}/executions/{response.json()['execution_id']}").json()
    request = execution["input"]["request"]
    assert request["body_encoding"] == "base64"
    assert base64.b64decode(request["body"]) == raw
    assert request["headers"]["authorization"] == "[redacted]"
    assert request["headers"]["x-api-token"] == "[redacted]"
    delivery = client.get(f"{API}/executions/{execution['id']}/delivery").json()
    assert base64.b64decode(delivery["body_base64"]) == raw and delivery["body"] is None
    assert "top-secret" not in json.dumps(delivery) and "also-secret" not in json.dumps(delivery)


def test_idempotency_key_within_24_hours(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    create_webhook(client, "add", "add")
    first = client.post("/hooks/add", json={"x": 1}, headers={"Idempotency-Key": "k1"}).json()
    again = client.post("/hooks/add", json={"x": 2}, headers={"Idempotency-Key": "k1"}).json()
    other = client.post("/hooks/add", json={"x": 1}, headers={"Idempotency-Key": "k2"}).json()
    github = [
        client.post(
            "/hooks/add", json={"x": 1}, headers={"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab"}
        ).json()
        for _ in range(2)
    ]
    assert again["execution_id"] == first["execution_id"] and again["duplicate"]
    assert other["execution_id"] != first["execution_id"]
    assert github[0]["execution_id"] == github[1]["execution_id"] and github[1]["duplicate"]
    # A day later the key is forgotten: it starts a new execution.
    yesterday = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=24, seconds=1)
    with store_of(client).engine.begin() as conn:
        conn.execute(update(IdempotencyKeyRow).values(created_at=yesterday))
    later = client.post("/hooks/add", json={"x": 1}, headers={"Idempotency-Key": "k1"}).json()
    assert later["execution_id"] != first["execution_id"] and not later["duplicate"]
    assert len(webhook_executions(client)) == 4


def test_unknown_path_wrong_method_and_body_limit(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/hooks.db",
        scheduler=False,
        webhook_max_body_bytes=2048,
        max_body_bytes=64 * 1024,
    )
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
        authorize_as_admin(client, settings)
        deploy(client, "default", "echo", ECHO)
        create_webhook(client, "echo", "echo")
        assert_problem(client.post("/hooks/nothing-here", json={}), 404, "not-found")
        assert_problem(client.get("/hooks/nothing-here"), 404, "not-found")
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            response = client.request(method, "/hooks/echo")
            assert_problem(response, 405, "method-not-allowed")
            assert response.headers["allow"] == "POST"
        assert client.post("/hooks/echo", content=b"x" * 2048).status_code == 202
        too_big = client.post("/hooks/echo", content=b"x" * 2049)
        assert assert_problem(too_big, 413, "body-too-large")["limit"] == 2048
        assert len(deliveries(client, "echo")) == 1  # the refused one ran nothing
        # The API keeps its own, larger limit.
        code = ECHO + "#" * 10_000 + "\n"
        assert client.put(f"{API}/functions/default/echo", json={"code": code}).status_code == 201


def test_sync_mode_past_its_wait_answers_202(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    create_webhook(client, "add", "slow", mode="sync", sync_timeout_s=0.2)
    started = time.monotonic()
    response = client.post("/hooks/slow", json={"x": 1})
    assert response.status_code == 202 and 0.2 <= time.monotonic() - started < 5
    assert response.headers["runtree-execution-id"] == response.json()["execution_id"]


def test_delete_keeps_deliveries_and_frees_the_path(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    create_webhook(client, "add", "add")
    assert client.post("/hooks/add", json={"x": 1}).status_code == 202
    conflict = client.post(f"{API}/webhooks", json={"function": "add", "path": "add"})
    assert_problem(conflict, 409, "conflict")
    assert client.delete(f"{API}/webhooks/add").status_code == 200
    assert_problem(client.post("/hooks/add", json={"x": 1}), 404, "not-found")
    assert len(deliveries(client, "add")) == 1
    create_webhook(client, "add", "add")


@pytest.fixture
def live_hooks(live: TestClient, namespace: str) -> Iterator[tuple[TestClient, str]]:
    yield live, namespace


@pytest.mark.slow
def test_sync_mode_returns_the_output_or_a_problem_naming_the_execution(
    live_hooks: tuple[TestClient, str],
) -> None:
    live, ns = live_hooks
    deploy(live, ns, "add", ADD)
    deploy(live, ns, "boom", "def boom(request):\n    raise ValueError('secret detail')\n")
    create_webhook(live, f"{ns}/add", f"{ns}-add", mode="sync", sync_timeout_s=60)
    create_webhook(live, f"{ns}/boom", f"{ns}-boom", mode="sync", sync_timeout_s=60)
    response = live.post(f"/hooks/{ns}-add", json={"x": 41}, headers={"Idempotency-Key": "once"})
    assert response.status_code == 200, response.text
    assert response.json() == 42
    first = response.headers["runtree-execution-id"]
    again = live.post(f"/hooks/{ns}-add", json={"x": 1}, headers={"Idempotency-Key": "once"})
    assert (again.status_code, again.json()) == (200, 42)
    assert again.headers["runtree-execution-id"] == first
    failed = live.post(f"/hooks/{ns}-boom", content=b"payload")
    problem = assert_problem(failed, 500, "execution-failed")
    assert problem["execution_status"] == "failed" and "ValueError" in problem["detail"]
    assert "secret detail" not in failed.text
    execution = poll(live, problem["execution_id"], lambda e: e["finished_at"] is not None)
    assert execution["error"]["message"] == "secret detail"
