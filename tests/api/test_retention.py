"""Retention in a server: its own loop prunes (counted in /metrics, audited), the API's
prune and dry run, and what a non-admin gets."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.settings import Settings

from ..store.store_helpers import deploy, make_step
from .conftest import NullDispatcher, authorize_as_admin
from .helpers import API, store_of
from .test_metrics import samples, value


def _finished_runs(client: TestClient, name: str, count: int) -> list[str]:
    store = store_of(client)
    version = deploy(store, name, namespace="shop")
    ids = []
    for _ in range(count):
        execution = store.enqueue_execution(
            version=version, trigger="api", input={}, versions={name: 1}
        )
        store.claim_execution(execution.id, "w")
        store.finish_execution(
            execution.id, status="succeeded", steps=[make_step(1), make_step(2, parent_id=1)]
        )
        ids.append(execution.id)
    return ids


def test_the_server_prunes_on_its_own_and_counts_it(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/r.db", scheduler=False, retention_interval_s=0.2
    )
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
        authorize_as_admin(client, settings)
        ids = _finished_runs(client, "job", 4)
        policy = client.put(f"{API}/retention", json={"target": "shop/job", "keep_last": 1})
        assert policy.status_code == 200, policy.text
        assert policy.json()["target"] == "shop/job"
        deadline = time.monotonic() + 30
        while not store_of(client).list_audit(action="retention.prune")[0]:  # a pass ended
            assert time.monotonic() < deadline, "the server's pruning loop did not prune"
            time.sleep(0.1)
        assert [i for i in ids if store_of(client).get_execution(i)] == ids[-1:]
        found = samples(client)
        assert (
            value(found, "runtree_executions_pruned_total", function="job", namespace="shop") == 3
        )
        (entry,) = store_of(client).list_audit(action="retention.prune")[0]
        assert entry.actor == "runtree serve (retention)" and entry.details["executions"] == 3


def test_prune_and_storage_over_http(client: TestClient) -> None:
    ids = _finished_runs(client, "job", 3)
    assert (
        client.put(f"{API}/retention", json={"target": "shop", "keep_last": 2}).status_code == 200
    )
    dry = client.post(f"{API}/retention/prune", json={"dry_run": True}).json()
    assert dry["functions"][0]["executions"] == 1 and dry["functions"][0]["steps"] == 2
    assert store_of(client).get_execution(ids[0]) is not None
    done = client.post(f"{API}/retention/prune", json={}).json()
    assert done["totals"]["executions"] == 1 and store_of(client).get_execution(ids[0]) is None
    storage = client.get(f"{API}/storage").json()
    assert storage["namespaces"][0]["functions"][0]["executions"] == 2
    bad = client.put(f"{API}/retention", json={"target": "shop", "keep_days": -1})
    assert bad.status_code == 422 and bad.json()["field"] == "keep_days"
    typo = client.put(f"{API}/retention", json={"target": "shop", "keep_dayz": 3})
    assert typo.status_code == 422
    gone = client.delete(f"{API}/retention", params={"target": "nowhere"})
    assert gone.status_code == 404
    assert client.delete(f"{API}/retention", params={"target": "shop"}).status_code == 200
    assert client.get(f"{API}/retention").json() == {"policies": []}
