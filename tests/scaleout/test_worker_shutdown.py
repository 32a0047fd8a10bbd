"""SIGTERM to a `runtree worker` (issue 17, "graceful shutdown"): it takes no more jobs,
lets its running executions finish for ``--grace`` seconds, then stops those still running
and hands them back to the queue, where another worker runs them again from the start; the
process exits 0 soon after the deadline."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from runtree import service
from runtree.models import ExecutionStatus
from runtree.store import Store

from .fleet import WorkerProcess, claims, install_claims_log
from .test_fleet import wait_all_ended

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

GRACE_S = 4.0
BRIEF = "import time\ndef brief(n):\n    time.sleep(1)\n    return n\n"
LONG = "import time\ndef long(n):\n    time.sleep(8)\n    return n\n"


def wait_running(store: Store, ids: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while any(store.get_execution(i).status != ExecutionStatus.RUNNING for i in ids):
        assert time.monotonic() < deadline, [str(store.get_execution(i).status) for i in ids]
        time.sleep(0.05)


def test_sigterm_lets_short_runs_finish_and_hands_long_ones_back(
    pg_url: str, tmp_path: Path
) -> None:
    store = Store(pg_url)
    install_claims_log(store)
    service.deploy(store, "default", "brief", BRIEF)
    service.deploy(store, "default", "long", LONG)
    first = WorkerProcess(pg_url, tmp_path / "first", slots=2, grace=GRACE_S)
    second: WorkerProcess | None = None
    try:
        first.wait_registered(store)
        brief = service.start_execution(store, "default", "brief", {"n": 1}).id
        long = service.start_execution(store, "default", "long", {"n": 2}).id
        wait_running(store, [brief, long])

        first.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        assert first.process.wait(GRACE_S + 30) == 0, first.log.read_text()
        took = time.monotonic() - signalled
        assert took >= GRACE_S  # it waited for the long one until the deadline

        ended = store.get_execution(brief)
        assert ended.status == ExecutionStatus.SUCCEEDED and ended.worker_id == first.id
        handed_back = store.get_execution(long)
        assert handed_back.status == ExecutionStatus.QUEUED, handed_back
        assert store.get_steps(long) == []  # the first attempt's steps are gone

        second = WorkerProcess(pg_url, tmp_path / "second", slots=1)
        finished = wait_all_ended(store, [long], timeout=90)[long]
        assert finished.status == ExecutionStatus.SUCCEEDED, finished
        assert finished.worker_id == second.id
        claimed = claims(store)
        assert claimed[brief] == [first.id]
        assert claimed[long] == [first.id, second.id]
        # Gone from the Workers list: it unregistered on the way out.
        assert first.id not in {w.id for w in store.list_workers(live_within_s=60)}
    finally:
        first.stop()
        if second is not None:
            second.stop()
        store.close()
