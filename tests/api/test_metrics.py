"""``GET /metrics``: Prometheus metrics of a server -- exact counts after real runs, queue
depth read at scrape time, webhook deliveries by outcome, and the endpoint's protection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from runtree.api import create_app
from runtree.settings import Settings

from .conftest import NullDispatcher, authorize_as_admin
from .helpers import API, deploy, deploy_examples, run

FAILING = "def explode(n: int):\n    raise ValueError(f'bad {n}')\n"
ECHO = "def echo(request):\n    return request\n"
ADD = "def add(x: int, y: int = 1):\n    return x + y\n"


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.slow
def test_counters_and_histogram_after_a_succeeding_and_a_failing_run(
    live: TestClient, namespace: str
) -> None:
    deploy_examples(live, namespace)
    deploy(live, namespace, "explode", FAILING)
    steps_before = value(samples(live), "runtree_steps_written_total")
    assert (
        run(live, namespace, "calculate_order_total", input={"customer_id": 42}).json()["status"]
        == "succeeded"
    )
    for n in (1, 2):
        assert run(live, namespace, "explode", input={"n": n}).json()["status"] == "failed"
    found = samples(live)
    order = {"function": "calculate_order_total", "namespace": namespace}
    explode = {"function": "explode", "namespace": namespace}
    assert value(found, "runtree_executions_started_total", **order) == 1
    assert value(found, "runtree_executions_started_total", **explode) == 2
    assert value(found, "runtree_executions_ended_total", **order, status="succeeded") == 1
    assert value(found, "runtree_executions_ended_total", **order, status="failed") == 0
    assert value(found, "runtree_executions_ended_total", **explode, status="failed") == 2
    assert value(found, "runtree_execution_duration_seconds_count", **order) == 1
    assert value(found, "runtree_execution_duration_seconds_count", **explode) == 2
    assert value(found, "runtree_execution_duration_seconds_bucket", **explode, le="+Inf") == 2
    assert value(found, "runtree_execution_duration_seconds_sum", **order) > 0
    # The orders example records 5 steps, each failing run 1.
    assert value(found, "runtree_steps_written_total") - steps_before == 7
    busy = value(found, "runtree_worker_slots", state="busy")
    assert busy + value(found, "runtree_worker_slots", state="free") == 2


def test_queue_depth_is_read_from_the_store_at_scrape_time(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    assert value(samples(client), "runtree_executions_queued") == 0
    for _ in range(3):  # the null dispatcher runs nothing: they stay queued
        assert run(client, "default", "echo", input={"request": 1}, wait=False).status_code == 202
    assert value(samples(client), "runtree_executions_queued") == 3


def test_webhook_deliveries_are_counted_by_outcome(client: TestClient) -> None:
    deploy(client, "default", "echo", ECHO)
    for path, verify in (("open", "none"), ("signed", "hmac-sha256")):
        body = {"function": "echo", "path": path, "verify": verify}
        response = client.post(f"{API}/webhooks", json=body)
        assert response.status_code == 201, response.text
    assert client.post("/hooks/open", content=b"{}").status_code == 202
    assert client.post("/hooks/open", content=b"{}").status_code == 202
    assert client.post("/hooks/signed", content=b"{}").status_code == 401
    once = {"Idempotency-Key": "order-1"}
    assert client.post("/hooks/open", content=b"{}", headers=once).json()["duplicate"] is False
    assert client.post("/hooks/open", content=b"{}", headers=once).json()["duplicate"] is True
    deploy(client, "default", "add", ADD)
    response = client.post(f"{API}/webhooks", json={"function": "add", "path": "add"})
    assert response.status_code == 201, response.text
    assert client.post("/hooks/add", json={"x": "not a number"}).status_code == 422
    assert client.post("/hooks/missing", content=b"{}").status_code == 404  # no webhook
    found = samples(client)
    assert value(found, "runtree_webhook_deliveries_total", outcome="accepted") == 3
    assert value(found, "runtree_webhook_deliveries_total", outcome="duplicate") == 1
    assert value(found, "runtree_webhook_deliveries_total", outcome="rejected") == 1
    assert value(found, "runtree_webhook_deliveries_total", outcome="invalid") == 1


def test_metrics_need_a_key_of_every_namespace(client: TestClient) -> None:
    key = client.headers.pop("Authorization")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    client.headers["Authorization"] = key
    viewer = client.post(f"{API}/keys", json={"role": "viewer"}).json()["key"]
    scoped = client.post(f"{API}/keys", json={"role": "viewer", "namespace": "a"}).json()["key"]
    client.headers.pop("Authorization")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {viewer}"}).status_code == 200
    response = client.get("/metrics", headers={"Authorization": f"Bearer {scoped}"})
    assert response.status_code == 403


def test_metrics_public_serves_without_a_key(
    tmp_path: Path, migrated_database: Callable[[Path], str]
) -> None:
    settings = Settings(
        database_url=migrated_database(tmp_path / "m.db"), scheduler=False, metrics_public=True
    )
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get(f"{API}/functions").status_code == 401  # the API stays protected
        authorize_as_admin(client, settings)
        assert client.get(f"{API}/functions").status_code == 200


def test_each_app_has_its_own_registry(
    tmp_path: Path, migrated_database: Callable[[Path], str]
) -> None:
    settings = Settings(database_url=migrated_database(tmp_path / "r.db"), scheduler=False)
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as first:
        with TestClient(create_app(settings, dispatcher=NullDispatcher())) as second:
            first.app.state.runtime.metrics.delivery("accepted")  # type: ignore[attr-defined]
            authorize_as_admin(first, settings)
            authorize_as_admin(second, settings)
            assert (
                value(samples(first), "runtree_webhook_deliveries_total", outcome="accepted") == 1
            )
            assert (
                value(samples(second), "runtree_webhook_deliveries_total", outcome="accepted") == 0
            )


def test_metrics_are_not_in_the_openapi_document(client: TestClient) -> None:
    assert "/metrics" not in client.get(f"{API}/openapi.json").json()["paths"]


def test_runtree_metrics_public_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load().metrics_public is False
    monkeypatch.setenv("RUNTREE_METRICS_PUBLIC", "on")
    assert Settings.load().metrics_public is True
