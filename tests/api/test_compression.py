"""Large answers are gzip-compressed for clients that accept it, and only for them."""

from __future__ import annotations

import gzip
import json

from fastapi.testclient import TestClient

from .helpers import API, deploy, run, store_of

LEAF = "def leaf(x):\n    return x\n"


def _execution_with_steps(client: TestClient, count: int) -> str:
    deploy(client, "default", "leaf", LEAF)
    accepted = run(client, "default", "leaf", input={"x": 1}, wait=False).json()
    store = store_of(client)
    assert store.claim_execution(accepted["id"], "w1") is not None
    step = {
        "parent_id": None,
        "depth": 0,
        "name": "leaf",
        "status": "completed",
        "started_at_ns": 1,
        "duration_ns": 2,
        "inputs": {"x": {"preview": 1, "size": 5, "format": "pickle", "blob": b"\x80\x05K\x01."}},
        "output": {"preview": 1, "size": 5, "format": "pickle", "blob": b"\x80\x05K\x01."},
    }
    store.save_steps(
        accepted["id"], [{**step, "id": i, "parent_id": i - 1 or None} for i in range(1, count)]
    )
    return str(accepted["id"])


def test_a_large_execution_is_gzipped_when_the_client_accepts_it(client: TestClient) -> None:
    execution_id = _execution_with_steps(client, 200)
    url = f"{API}/executions/{execution_id}"

    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    compressed = json.loads(gzip.decompress(raw))

    with client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response:
        plain = b"".join(response.iter_raw())
    assert "content-encoding" not in response.headers
    assert json.loads(plain) == compressed  # the same document
    assert len(compressed["steps"]) == 199
    assert len(raw) * 5 < len(plain)


def test_small_answers_and_pre_encoded_ones_are_left_alone(client: TestClient) -> None:
    execution_id = _execution_with_steps(client, 200)
    response = client.get(f"{API}/whoami", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and "content-encoding" not in response.headers

    # The outline gzips itself: compressed once, not twice.
    with client.stream(
        "GET", f"{API}/executions/{execution_id}/outline", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(raw))["steps"]) == 199
