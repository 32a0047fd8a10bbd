"""Latency of ``POST .../executions`` with ``wait=true`` for a trivial function, end to end.

Not a test (pytest does not collect it). Run it on an idle machine:

    .venv/bin/python tests/api/bench_latency.py [--runs 200]

It starts ``uvicorn`` with the real app (zygote workers, SQLite in a temporary directory),
calls it over one keep-alive HTTP connection, and then measures the same run through the
service layer alone (``start_execution`` + the in-process completion notice, no HTTP) in this
process, so the difference is what the HTTP layer adds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx

SOURCE = "def add(a: int, b: int) -> int:\n    return a + b\n"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {p(0.50):.2f} ms  p90 {p(0.90):.2f} ms  p99 {p(0.99):.2f} ms  (n={len(ordered)})"


def over_http(directory: str, runs: int) -> tuple[list[float], list[float]]:
    port = 8765
    env = {
        **os.environ,
        "RUNTREE_DATABASE_URL": f"sqlite:///{directory}/http.db",
        "RUNTREE_WORKERS": "2",
        "RUNTREE_NO_AUTH": "1",
    }  # loopback only
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "runtree.api.app:app_from_environment",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(100):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            client.put("/api/v1/functions/bench/add", json={"code": SOURCE}).raise_for_status()
            body = {"input": {"a": 1, "b": 2}}
            for _ in range(10):  # warm-up: zygote start, connection pools
                client.post("/api/v1/functions/bench/add/executions", json=body)
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                response = client.post("/api/v1/functions/bench/add/executions", json=body)
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.json()["output"] == 3
            reads = []  # a plain read: the HTTP stack's own cost plus two store reads
            for _ in range(runs):
                started = time.perf_counter()
                client.get(f"/api/v1/executions/{response.json()['id']}").raise_for_status()
                reads.append(time.perf_counter() - started)
            return samples, reads
    finally:
        server.terminate()
        server.wait(10)


def service_only(directory: str, runs: int) -> list[float]:
    from runtree import service
    from runtree.execution.dispatcher import LocalDispatcher
    from runtree.execution.runner import NotifyingRunner
    from runtree.execution.supervisor import Supervisor
    from runtree.execution.zygote_launcher import ZygoteLauncher
    from runtree.models import ExecutionRecord
    from runtree.store import Store

    store = Store(f"sqlite:///{directory}/service.db")
    finished: dict[str, threading.Event] = {}
    lock = threading.Lock()

    def on_finished(record: ExecutionRecord) -> None:
        with lock:
            finished.setdefault(record.id, threading.Event()).set()

    launcher = ZygoteLauncher()
    runner = NotifyingRunner(store, Supervisor(launcher), on_finished)
    dispatcher = LocalDispatcher(store, runner, 2)
    dispatcher.start()
    try:
        service.deploy(store, "bench", "add", SOURCE)
        samples = []
        for index in range(runs + 10):
            started = time.perf_counter()
            record = service.start_execution(
                store, "bench", "add", {"a": 1, "b": 2}, dispatcher=dispatcher
            )
            with lock:
                event = finished.setdefault(record.id, threading.Event())
            event.wait(30)
            if index >= 10:
                samples.append(time.perf_counter() - started)
        return samples
    finally:
        dispatcher.stop(5)
        launcher.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        http, reads = over_http(directory, args.runs)
        direct = service_only(directory, args.runs)
    print("HTTP wait=true     ", percentiles(http))
    print("service layer only ", percentiles(direct))
    print("HTTP GET execution ", percentiles(reads))
    added = (statistics.median(http) - statistics.median(direct)) * 1000
    print(f"HTTP layer adds    ~{added:.2f} ms at the median")


if __name__ == "__main__":
    main()
