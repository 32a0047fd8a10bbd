"""One API-only server and three `runtree worker` processes on one PostgreSQL database, each
worker with a state directory of its own as if on its own machine (issue 17, "Tests")."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from runtree import service
from runtree.models import ExecutionStatus
from runtree.store import Store
from tests.e2e.conftest import Server

from .fleet import WorkerProcess, claims, install_claims_log

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FAST = 1000
FAILING = 60
SLOW = 12  # 2 s each
TIMING_OUT = 4  # 1 s limit, would take 30 s
RETRIED = 6  # 2 s each, retries=1

FUNCTIONS = {
    "fast": ("def fast(n):\n    return n * 2\n", {}),
    "failing": ("def failing(n):\n    raise ValueError(n)\n", {}),
    "slow": ("import time\ndef slow(n):\n    time.sleep(2)\n    return n\n", {}),
    "stuck": ("import time\ndef stuck(n):\n    time.sleep(30)\n", {"timeout_s": 1.0}),
    "again": ("import time\ndef again(n):\n    time.sleep(2)\n    return n\n", {"retries": 1}),
    "long": ("import time\ndef long(n):\n    time.sleep(60)\n", {}),
}


def wait_all_ended(store: Store, ids: list[str], timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        records = store.get_executions(ids)
        pending = [r for r in records.values() if not r.status.finished]
        if not pending or time.monotonic() > deadline:
            return dict(records)
        time.sleep(0.5)


@pytest.mark.long
def test_a_fleet_runs_every_execution_exactly_once_through_a_lost_worker(
    pg_url: str, tmp_path: Path
) -> None:
    store = Store(pg_url)
    install_claims_log(store)
    for name, (source, settings) in FUNCTIONS.items():
        service.deploy(store, "default", name, source, settings=service.make_settings(**settings))
    # Started together: on a loaded machine, start-up (imports, sandbox probe) is slow.
    server = Server(pg_url, workers=0, startup_timeout=120)
    workers = [WorkerProcess(pg_url, tmp_path / f"w{n}") for n in range(3)]
    server.start()
    try:
        for worker in workers:
            worker.wait_registered(store)
        kinds: dict[str, str] = {}

        def start(name: str, n: int) -> str:
            execution = service.start_execution(store, "default", name, {"n": n})
            kinds[execution.id] = name
            return execution.id

        # The slow ones first, so that the worker killed below is running some.
        for n in range(SLOW):
            start("slow", n)
        for n in range(RETRIED):
            start("again", n)
        for n in range(TIMING_OUT):
            start("stuck", n)
        # Through the API too (the server runs no slot itself).
        with server.client() as client:
            for n in range(20):
                response = client.post(
                    "/functions/default/fast/executions", json={"input": {"n": n}, "wait": False}
                )
                assert response.status_code in (200, 202), response.text
                kinds[response.json()["id"]] = "fast"
        time.sleep(1.0)
        victim = workers[0]
        victim.kill()
        killed_at = time.monotonic()
        # What it was running when it died (nothing settles them for 4 heartbeats: 2 s).
        running_on_victim = {
            r.id
            for r in store.list_executions(status="running", limit=100)[0]
            if r.worker_id == victim.id
        }
        assert running_on_victim, "the killed worker ran nothing: the test proves nothing"
        for n in range(FAST):
            start("fast", n)
        for n in range(FAILING):
            start("failing", n)

        queued_at = time.monotonic()
        records = wait_all_ended(store, list(kinds), timeout=240)
        print(f"{len(kinds)} executions ended {time.monotonic() - queued_at:.1f} s after queueing")
        statuses = Counter((kinds[i], str(r.status)) for i, r in records.items())
        assert all(r.status.finished for r in records.values()), statuses
        lost = {i for i, r in records.items() if r.error and r.error.get("type") == "WorkerLost"}
        # Lost: exactly the executions the killed worker was running that may not retry.
        assert lost == {i for i in running_on_victim if kinds[i] != "again"}
        for execution_id, record in records.items():
            kind = kinds[execution_id]
            if execution_id in lost:
                assert record.status == ExecutionStatus.CRASHED
            elif kind in ("fast", "slow", "again"):
                assert record.status == ExecutionStatus.SUCCEEDED, (kind, record.error)
            elif kind == "failing":
                assert record.status == ExecutionStatus.FAILED
            else:
                assert record.status == ExecutionStatus.TIMED_OUT
        # Never run twice: one claim each, two for a retried execution of the lost worker.
        claimed = claims(store)
        for execution_id in records:
            expected = (
                2 if execution_id in running_on_victim and kinds[execution_id] == "again" else 1
            )
            assert len(claimed.get(execution_id, [])) == expected, execution_id
        # The lost ones ended within the stated bound (4 heartbeats + 1, plus scheduling).
        crashed_after = [
            (records[i].finished_at - records[i].started_at).total_seconds() for i in lost
        ]
        assert all(seconds < 30 for seconds in crashed_after)
        assert time.monotonic() - killed_at < 240
        listed = {w.id: w for w in store.list_workers(live_within_s=2.0)}
        assert not listed[victim.id].live and listed[workers[1].id].live

        # A cancel reaches an execution running on another machine (through the API of a
        # server that runs nothing itself).
        target = start("long", 0)
        deadline = time.monotonic() + 30
        while store.get_execution(target).status != ExecutionStatus.RUNNING:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        with server.client() as client:
            # 202: accepted, its worker (elsewhere) stops it
            assert client.post(f"/executions/{target}/cancel").status_code in (200, 202)
        cancelled = wait_all_ended(store, [target], timeout=20)[target]
        assert cancelled.status == ExecutionStatus.CANCELLED
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
        store.close()
