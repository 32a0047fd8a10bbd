"""``runtree worker --log-format json``: every line the worker writes is one JSON object --
its own start and stop lines with their fields, and the executions it runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtree import service
from runtree.store import Store

from .fleet import WorkerProcess
from .test_fleet import wait_all_ended

ADD = "def add(x):\n    return x + 1\n"


@pytest.mark.slow
@pytest.mark.postgres
def test_worker_log_format_json_writes_json_lines_only(pg_url: str, tmp_path: Path) -> None:
    store = Store(pg_url)
    service.deploy(store, "default", "add", ADD)
    worker = WorkerProcess(pg_url, tmp_path / "worker", slots=1, options=("--log-format", "json"))
    try:
        worker.wait_registered(store)
        execution_id = service.start_execution(store, "default", "add", {"x": 2}).id
        ended = wait_all_ended(store, [execution_id], timeout=90)[execution_id]
        assert str(getattr(ended, "status", None)) == "succeeded", ended
    finally:
        worker.stop()
        store.close()
    assert worker.process.returncode == 0, worker.log.read_text()
    lines = [line for line in worker.log.read_text().splitlines() if line.strip()]
    documents = [json.loads(line) for line in lines]  # every line is JSON
    started = next(d for d in documents if d["logger"] == "runtree.worker")
    assert started["worker_id"] == worker.id and started["slots"] == 1
    assert started["queues"] == ["default"] and started["message"].startswith(worker.id, 15)
    assert documents[-1]["logger"] == "runtree.worker"
    assert documents[-1]["message"] == "runtree worker stopped"
    lifecycle = [d for d in documents if d.get("execution_id") == execution_id and "event" in d]
    assert [d["event"] for d in lifecycle] == ["execution.started", "execution.finished"]


def test_an_unknown_log_format_is_refused_before_anything_starts(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'runtree.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "runtree", "worker", "--database", database, "--log-format", "xml"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done
    assert "--log-format must be one of text, json, not 'xml'" in done.stderr
    assert not (tmp_path / "runtree.db").exists()  # nothing was opened
