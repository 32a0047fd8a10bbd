"""The Workers page in a real browser: an API-only server and a `runtree worker` on
PostgreSQL; the worker, what it runs, and the queue depth are shown, and a worker killed with
SIGKILL turns `lost`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.scaleout.fleet import WorkerProcess
from tests.store.conftest import PostgresDatabases

from .conftest import UiServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def pg_url() -> Iterator[str]:
    databases = PostgresDatabases()
    try:
        yield databases.create()
    finally:
        databases.drop_all()


def test_the_workers_page_shows_workers_what_they_run_and_the_queues(
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    new_page: Callable[..., Any],
    screenshot: Callable[[Any, str], None],
) -> None:
    from runtree.store import Store

    Store(pg_url).close()  # migrated before the processes start
    monkeypatch.setenv("RUNTREE_HEARTBEAT_S", "0.5")  # the server judges liveness with it
    worker = WorkerProcess(pg_url, tmp_path / "worker", slots=1)
    server = UiServer(tmp_path, workers=0, database=pg_url, startup_timeout=120)
    try:
        with Store(pg_url) as store:
            worker.wait_registered(store)
        server.deploy("wait", "import time\ndef wait(s):\n    time.sleep(s)\n")
        running = server.run("wait", {"s": 60}, wait=False)["id"]
        waiting = server.run("wait", {"s": 1}, wait=False)["id"]  # one slot: this one waits
        page = new_page()
        page.goto(server.url + "/workers")
        row = page.locator(f"#workers tr[data-id='{worker.id}']")
        row.wait_for()
        page.locator(f"#workers a[href='/executions/{running}']").wait_for(timeout=60_000)
        assert row.get_attribute("data-state") == "live"
        assert "1/1" in row.inner_text() and "default" in row.inner_text()
        queue = page.locator("#queues tr[data-queue='default'] td")
        page.wait_for_function(
            "() => document.querySelector(\"#queues tr[data-queue='default'] td:nth-child(2)\")"
            "?.textContent === '1'"
        )
        assert queue.nth(2).inner_text() == "1"  # running
        screenshot(page, "workers")

        worker.kill()  # the page refreshes: lost after 4 missed heartbeats (0.5 s each)
        page.locator(f"#workers tr[data-id='{worker.id}'][data-state='lost']").wait_for(
            timeout=30_000
        )
        # Queued behind the lost worker's only slot: never claimed, still waiting.
        assert server.api.get(f"/executions/{waiting}").json()["status"] == "queued"
    finally:
        worker.stop()
        server.stop()
