"""Helpers shared by the API tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from runtree.store import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "orders"
API = "/api/v1"


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.runtime.store  # type: ignore[attr-defined]
    return store


def deploy(client: TestClient, namespace: str, name: str, code: str, **settings: Any) -> Any:
    response = client.put(f"{API}/functions/{namespace}/{name}", json={"code": code, **settings})
    assert response.status_code in (200, 201), response.text
    return response.json()


def deploy_examples(client: TestClient, namespace: str) -> None:
    for path in sorted(EXAMPLES.glob("*.py")):
        deploy(client, namespace, path.stem, path.read_text())


def run(client: TestClient, namespace: str, name: str, **body: Any) -> httpx.Response:
    return client.post(f"{API}/functions/{namespace}/{name}/executions", json=body)


def poll(
    client: TestClient,
    execution_id: str,
    until: Callable[[dict[str, Any]], bool],
    timeout: float = 15.0,
) -> dict[str, Any]:
    """GET the execution until ``until(body)`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{API}/executions/{execution_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if until(body):
            return body
        assert time.monotonic() < deadline, f"gave up waiting; last state: {body['status']}"
        time.sleep(0.02)


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"https://runtree.dev/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    text = response.text
    assert "Traceback" not in text and "/work/" not in text and '.py", line' not in text
    return body
