"""PostgreSQL restarting mid-load loses nothing: the API server and the worker reconnect, the
executions running across the restart store their end once the database is back, and every
execution reaches exactly one end state after exactly one claim (issue 17, "Failure
semantics"). The database is a throw-away cluster of this test's own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtree import service
from runtree.models import ExecutionStatus
from runtree.store import Store
from tests.e2e.conftest import Server

from .cluster import Cluster, wait_until_reachable
from .fleet import WorkerProcess, claims, install_claims_log
from .test_fleet import wait_all_ended

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FAST = "def fast(n):\n    return n * 2\n"
SLOW = "import time\ndef slow(n):\n    time.sleep(2)\n    return n\n"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def test_a_database_restart_mid_load_loses_nothing_and_runs_nothing_twice(
    cluster: Cluster, tmp_path: Path
) -> None:
    url = cluster.create_database("runtree")
    store = Store(url)
    install_claims_log(store)
    service.deploy(store, "default", "fast", FAST)
    service.deploy(store, "default", "slow", SLOW)
    server = Server(url, workers=0, startup_timeout=120)
    worker = WorkerProcess(url, tmp_path / "worker", slots=2)
    server.start()
    try:
        worker.wait_registered(store)
        ids: list[str] = []

        def submit(client_name: str, count: int) -> None:
            with server.client() as client:
                for n in range(count):
                    response = client.post(
                        f"/functions/default/{client_name}/executions",
                        json={"input": {"n": n}, "wait": False},
                    )
                    assert response.status_code in (200, 202), response.text
                    ids.append(response.json()["id"])

        submit("slow", 4)
        submit("fast", 60)
        deadline = time.monotonic() + 60
        while not store.list_executions(status="running", limit=10)[0]:
            assert time.monotonic() < deadline, "nothing ran before the restart"
            time.sleep(0.05)
        running_at_restart = {r.id for r in store.list_executions(status="running", limit=10)[0]}

        cluster.restart()  # -m fast: every connection of the server and the worker is cut
        wait_until_reachable(url)

        submit("fast", 40)  # the API server reconnects
        records = wait_all_ended(store, ids, timeout=180)
        unfinished = {i: str(r.status) for i, r in records.items() if not r.status.finished}
        assert not unfinished, (unfinished, worker.log.read_text()[-4000:])
        assert len(records) == len(ids) == 104
        failed = {i: r.error for i, r in records.items() if r.status != ExecutionStatus.SUCCEEDED}
        assert not failed
        # Those running when the database went away ran on and stored their end afterwards.
        assert running_at_restart <= set(records)
        claimed = claims(store)
        assert {i: len(claimed.get(i, [])) for i in ids} == dict.fromkeys(ids, 1)
        # The worker is still there: its heartbeat came back after the restart.
        assert any(w.id == worker.id for w in store.list_workers(live_within_s=10))
    finally:
        worker.stop()
        server.stop()
        store.close()
