"""The 3 AM story of the README, through the HTTP API of a real server: a GitHub-signed push
delivery fails, its delivery and its execution say where, a fix is deployed, and the same
delivery is replayed against the fix."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhooks"
SECRET = "It's a Secret to Everybody"


def github_headers(body: bytes, delivery: str) -> dict[str, str]:
    """The headers GitHub sends with a push event, signed with ``SECRET``."""
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
    }


def finished(api: httpx.Client, execution_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = api.get(f"/executions/{execution_id}").json()
        if body["finished_at"] is not None:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def deploy(api: httpx.Client, path: Path) -> int:
    response = api.put("/functions/default/on_push", json={"code": path.read_text()})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["number"])


def test_a_failed_delivery_is_found_and_replayed_against_the_fix(server_factory: Any) -> None:
    server = server_factory()
    server.start()
    with server.client() as api:
        assert deploy(api, EXAMPLE / "on_push.py") == 1
        created = api.post(
            "/webhooks",
            json={
                "function": "on_push",
                "path": "github-push",
                "verify": "github",
                "secret": SECRET,
            },
        )
        assert created.status_code == 201, created.text

        # GitHub delivers a push; a forged one is rejected and runs nothing
        body = (EXAMPLE / "push.json").read_bytes()
        sent = httpx.post(
            f"{server.url}/hooks/github-push",
            content=body,
            headers=github_headers(body, "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        )
        assert sent.status_code == 202, sent.text
        forged = httpx.post(
            f"{server.url}/hooks/github-push",
            content=body,
            headers={**github_headers(body, "x"), "X-Hub-Signature-256": "sha256=" + "0" * 64},
        )
        assert forged.status_code == 401

        # the deliveries page's data: the forged one rejected with its reason, the real one
        # accepted, its execution failed
        execution = finished(api, sent.json()["execution_id"])
        assert execution["status"] == "failed"
        deliveries = api.get("/webhooks/github-push/deliveries").json()["deliveries"]
        assert [d["status"] for d in deliveries] == ["rejected", "accepted"]
        assert "does not match" in deliveries[0]["reason"]
        delivery = deliveries[1]
        assert delivery["idempotency_key"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
        assert delivery["execution"]["id"] == execution["id"]
        assert delivery["execution"]["status"] == "failed"

        # its execution shows the failing step: author_of, on the commit without a username
        outline = api.get(f"/executions/{execution['id']}/outline").json()
        steps = {s["id"]: s for s in outline["steps"]}
        failing = [steps[i]["name"] for i in outline["failing_path"]]
        assert failing == ["on_push", "summarize", "author_of"]
        step = api.get(f"/executions/{execution['id']}/steps/{outline['failing_path'][-1]}")
        error = step.json()["error"]
        assert error["type"] == "KeyError" and error["message"] == "'username'"
        assert "Grace Hopper" in str(step.json()["inputs"])

        # the fix is deployed; the same delivery is replayed against it
        assert deploy(api, EXAMPLE / "fixed" / "on_push.py") == 2
        replay = api.post(f"/deliveries/{delivery['id']}/replay", json={"version": 2})
        assert replay.status_code == 202, replay.text
        replayed = finished(api, replay.json()["id"])
        assert replayed["status"] == "succeeded", replayed
        assert (replayed["trigger"], replayed["version"], replayed["replay_of"]) == (
            "replay",
            2,
            execution["id"],
        )
        assert replayed["output"] == {
            "branch": "main",
            "commits": 2,
            "authors": {"ada": 1, "Grace Hopper": 1},
        }
        detail = api.get(f"/deliveries/{delivery['id']}").json()
        assert [(r["id"], r["status"]) for r in detail["replays"]] == [
            (replayed["id"], "succeeded")
        ]
