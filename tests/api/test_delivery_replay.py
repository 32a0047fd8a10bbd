"""Replaying a webhook delivery (``POST /deliveries/{id}/replay``), and what the delivery and
schedule listings say about the executions they started."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import zoneinfo
from typing import Any

from fastapi.testclient import TestClient

from .helpers import API, assert_problem, deploy

SECRET = "s3cret"
HANDLER_V1 = "def on_push(request):\n    return request['body']\n"
HANDLER_V2 = "def on_push(request):\n    return {'v': 2, 'body': request['body']}\n"
ADD = "def add(x: int, y: int = 1):\n    return x + y\n"


def signed_post(client: TestClient, path: str, body: bytes, **headers: str) -> Any:
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/hooks/{path}", content=body, headers={"X-Hub-Signature-256": signature, **headers}
    )


def github_hook(client: TestClient) -> str:
    """A github-verified webhook on ``on_push`` v1 and one accepted delivery; its id."""
    deploy(client, "default", "on_push", HANDLER_V1)
    response = client.post(
        f"{API}/webhooks",
        json={"function": "on_push", "path": "gh", "verify": "github", "secret": SECRET},
    )
    assert response.status_code == 201, response.text
    accepted = signed_post(client, "gh", b'{"ref": "main"}', **{"X-GitHub-Event": "push"})
    assert accepted.status_code == 202, accepted.text
    page = client.get(f"{API}/webhooks/gh/deliveries").json()
    return str(page["deliveries"][0]["id"])


def test_replay_runs_the_recorded_request_against_the_version_that_ran_it(
    client: TestClient,
) -> None:
    delivery_id = github_hook(client)
    delivery = client.get(f"{API}/deliveries/{delivery_id}").json()
    original = client.get(f"{API}/executions/{delivery['execution_id']}").json()
    deploy(client, "default", "on_push", HANDLER_V2)

    response = client.post(f"{API}/deliveries/{delivery_id}/replay")
    assert response.status_code == 202, response.text
    replay_id = response.json()["id"]
    assert response.headers["location"] == f"{API}/executions/{replay_id}"
    replay = client.get(f"{API}/executions/{replay_id}").json()
    assert replay["trigger"] == "replay" and replay["replay_of"] == original["id"]
    assert replay["version"] == 1  # what ran, not the newest
    # the same request, secret headers redacted as the function saw them the first time
    assert replay["input"] == original["input"]
    assert replay["input"]["request"]["headers"]["x-hub-signature-256"] == "[redacted]"
    assert replay["input"]["request"]["headers"]["x-github-event"] == "push"


def test_replay_against_another_version_and_the_delivery_lists_its_replays(
    client: TestClient,
) -> None:
    delivery_id = github_hook(client)
    deploy(client, "default", "on_push", HANDLER_V2)
    response = client.post(f"{API}/deliveries/{delivery_id}/replay", json={"version": 2})
    assert response.status_code == 202, response.text
    replay_id = response.json()["id"]
    replay = client.get(f"{API}/executions/{replay_id}").json()
    assert replay["version"] == 2 and replay["trigger"] == "replay"
    assert replay["input"]["request"]["body"] == '{"ref": "main"}'

    detail = client.get(f"{API}/deliveries/{delivery_id}").json()
    assert detail["execution"]["id"] == detail["execution_id"]
    assert detail["execution"]["status"] == "queued"  # nothing runs in these tests
    assert detail["execution"]["version"] == 1
    assert [(r["id"], r["version"], r["trigger"]) for r in detail["replays"]] == [
        (replay_id, 2, "replay")
    ]
    audit = client.get(f"{API}/audit", params={"action": "delivery.replay"}).json()
    assert audit["entries"][0]["target"] == (
        f"delivery {delivery_id} -> default/on_push v2 {replay_id}"
    )


def test_deliveries_list_the_executions_they_started_with_their_status(
    client: TestClient,
) -> None:
    github_hook(client)
    rejected = client.post("/hooks/gh", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
    assert rejected.status_code == 401
    page = client.get(f"{API}/webhooks/gh/deliveries").json()["deliveries"]
    assert [d["status"] for d in page] == ["rejected", "accepted"]
    assert page[0]["execution"] is None and "does not match" in page[0]["reason"]
    started = page[1]["execution"]
    assert started["id"] == page[1]["execution_id"]
    assert (started["function"], started["version"], started["trigger"], started["status"]) == (
        "default/on_push",
        1,
        "webhook",
        "queued",
    )


def test_what_cannot_be_replayed_is_refused_and_nothing_starts(client: TestClient) -> None:
    delivery_id = github_hook(client)
    client.post("/hooks/gh", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
    rejected = client.get(f"{API}/webhooks/gh/deliveries", params={"status": "rejected"}).json()[
        "deliveries"
    ][0]["id"]
    before = len(client.get(f"{API}/executions").json()["executions"])

    body = assert_problem(client.post(f"{API}/deliveries/{rejected}/replay"), 409, "conflict")
    assert "rejected" in body["detail"]
    assert_problem(client.post(f"{API}/deliveries/{'0' * 32}/replay"), 404, "not-found")
    body = assert_problem(
        client.post(f"{API}/deliveries/{delivery_id}/replay", json={"version": 9}), 404, "not-found"
    )
    assert body["kind"] == "version"
    assert_problem(
        client.post(f"{API}/deliveries/{delivery_id}/replay", json={"version": "2"}),
        422,
        "invalid-request",
    )
    # a version whose parameters the recorded body does not fit
    deploy(client, "default", "on_push", ADD.replace("add", "on_push"))
    body = assert_problem(
        client.post(f"{API}/deliveries/{delivery_id}/replay", json={"version": 2}),
        422,
        "invalid-input",
    )
    assert len(client.get(f"{API}/executions").json()["executions"]) == before


def test_schedules_show_their_next_fire_times(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    created = client.post(
        f"{API}/schedules",
        json={
            "function": "add",
            "cron": "30 9 * * 1-5",
            "timezone": "Europe/Amsterdam",
            "input": {"x": 1},
        },
    ).json()
    upcoming = [datetime.datetime.fromisoformat(t) for t in created["upcoming"]]
    assert len(upcoming) == 5 and upcoming == sorted(set(upcoming))
    assert created["upcoming"][0] == created["next_fire_at"]
    for moment in upcoming:
        local = moment.astimezone(zoneinfo.ZoneInfo("Europe/Amsterdam"))
        assert (local.hour, local.minute) == (9, 30) and local.weekday() < 5
    paused = client.post(f"{API}/schedules/{created['id']}/pause").json()
    assert paused["upcoming"] == []
    detail = client.get(f"{API}/schedules/{created['id']}").json()
    assert detail["upcoming"] == [] and detail["fires"] == []
