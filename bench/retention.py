"""Does pruning block the API?  API latency while ``runtree serve`` prunes 100,000 steps,
against the same API with nothing to prune, in the same run.

Run it from the project root::

    .venv/bin/python bench/retention.py           # full run: 100,000 steps pruned, ~2 minutes
    .venv/bin/python bench/retention.py --quick   # smoke run: 2,000 steps, a few seconds

Setup: a SQLite database in a temporary directory gets ``EXECUTIONS`` finished executions of
``STEPS`` steps each (every step with a 200-byte captured input) -- what will be pruned --
then ``KEPT`` small executions (10 steps) that stay, written through the store. A real
``runtree serve`` (access control and sandbox on, its own pruning loop set far in the future)
is started on that database (bench/execution_latency.py's ``running_server``), and the policy
``default`` keeps the newest ``KEPT`` executions per function.

Load: ``CLIENTS`` threads, each on its own keep-alive connection, repeat a mix of API calls as
fast as they are answered -- ``GET /api/v1/executions?limit=20`` (a read),
``GET /api/v1/executions/{id}`` of a kept execution (a read of its steps) and ``POST
/api/v1/keys`` (a write transaction with its audit row: what waits if pruning holds SQLite's
write lock) -- each request timed from send to parsed answer.

Phases, in one run: (1) idle -- the load alone for ``IDLE_S`` seconds; (2) pruning -- ``POST
/api/v1/retention/prune`` (the server's paced batches, as its own loop runs them) while the
same load runs, until the prune answers; (3) idle again. Printed per phase and per request
kind: count, p50, p95, p99 (ms), and the ratio of the pruning phase's p95 to the first idle
phase's. Also the prune's duration, what it deleted and the bytes given back to the file
system. The machine is shared and noisy: compare the phases of one run, not runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_latency import percentile, running_server
from runtree.store import Store

SOURCE = "def add(a: int, b: int) -> int:\n    return a + b\n"
SIGNATURE = {"params": [{"name": "a", "kind": "positional_or_keyword"}]}
PAYLOAD = os.urandom(200)


def populate(url: str, executions: int, steps: int, kept: int) -> list[str]:
    """Old executions to prune, then ``kept`` newer small ones; returns the kept ids."""
    with Store(url) as store:
        version, _ = store.deploy_version(
            "default",
            "add",
            source=SOURCE,
            settings={"timeout_s": 30, "memory_mb": 256, "tracking": True},
            sha256="0" * 64,
            warnings=[],
            dependencies=[],
            signature=SIGNATURE,
        )

        def one(count: int) -> str:
            execution = store.enqueue_execution(
                version=version, trigger="api", input={"a": 1}, versions={"add": 1}
            )
            store.claim_execution(execution.id, "bench")
            batch = [_step(i, None if i == 1 else 1) for i in range(1, count + 1)]
            store.finish_execution(execution.id, status="succeeded", output=1, steps=batch)
            return execution.id

        for _ in range(executions):
            one(steps)
        return [one(10) for _ in range(kept)]


def _step(step_id: int, parent: int | None) -> dict[str, Any]:
    return {
        "id": step_id,
        "parent_id": parent,
        "sequence": step_id,
        "depth": 0 if parent is None else 1,
        "name": "add",
        "filename": "add.py",
        "lineno": 1,
        "version": None,
        "status": "completed",
        "started_at_ns": time.time_ns(),
        "duration_ns": 1_000,
        "inputs": {
            "a": {
                "preview": 1,
                "size": len(PAYLOAD),
                "format": "pickle",
                "truncated": False,
                "redacted": False,
                "blob": PAYLOAD,
            }
        },
        "output": None,
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }


class Load:
    """Client threads repeating the request mix until :meth:`stop`; latencies by kind."""

    def __init__(self, base: str, headers: dict[str, str], kept: list[str], clients: int):
        self.base, self.headers, self.kept, self.clients = base, headers, kept, clients
        self.samples: dict[str, list[float]] = {"list": [], "read": [], "write": []}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.clients):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> dict[str, list[float]]:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        if self.errors:
            raise SystemExit("requests failed during the benchmark:\n" + "\n".join(self.errors[:5]))
        return self.samples

    def _run(self, index: int) -> None:
        calls: list[tuple[str, Callable[[httpx.Client], httpx.Response]]] = [
            ("list", lambda c: c.get("/api/v1/executions", params={"limit": 20})),
            ("read", lambda c: c.get(f"/api/v1/executions/{self.kept[index % len(self.kept)]}")),
            ("write", lambda c: c.post("/api/v1/keys", json={"role": "viewer"})),
        ]
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=120) as client:
            while not self._stop.is_set():
                for kind, call in calls:
                    began = time.perf_counter()
                    response = call(client)
                    elapsed = time.perf_counter() - began
                    if response.status_code >= 300:
                        self.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
                        return
                    with self._lock:
                        self.samples[kind].append(elapsed * 1000)


def phase(base: str, headers: dict[str, str], kept: list[str], clients: int, seconds: float):
    load = Load(base, headers, kept, clients)
    load.start()
    time.sleep(seconds)
    return load.stop()


def report(name: str, samples: dict[str, list[float]]) -> dict[str, float]:
    everything = [x for values in samples.values() for x in values]
    figures = {}
    for kind, values in [*samples.items(), ("all", everything)]:
        if not values:
            continue
        ordered = sorted(values)
        p50, p95, p99 = (percentile(ordered, q) for q in (0.5, 0.95, 0.99))
        figures[kind] = p95
        print(
            f"  {name:<8} {kind:<6} n={len(values):>6,}  p50 {p50:7.1f}  p95 {p95:7.1f}  "
            f"p99 {p99:7.1f}  max {ordered[-1]:7.1f} ms"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small and short")
    options = parser.parse_args()
    executions, steps = (20, 100) if options.quick else (100, 1_000)
    kept, clients, idle_s = (4, 2, 1.0) if options.quick else (20, 4, 20.0)
    print(f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="runtree-retention-bench-") as tmp:
        directory = Path(tmp)
        url = f"sqlite:///{directory / 'runtree.db'}"
        began = time.perf_counter()
        kept_ids = populate(url, executions, steps, kept)
        print(
            f"populated {executions:,} executions x {steps:,} steps to prune, {kept} kept, in "
            f"{time.perf_counter() - began:.1f} s"
        )
        os.environ["RUNTREE_RETENTION_INTERVAL_S"] = "86400"  # only the prune asked below
        with (
            running_server(directory) as (base, headers),
            httpx.Client(base_url=base, headers=headers, timeout=None) as admin,
        ):
            admin.put("/api/v1/retention", json={"target": "default", "keep_last": kept})
            before = admin.get("/api/v1/storage").json()["database"]
            idle = phase(base, headers, kept_ids, clients, idle_s)
            load = Load(base, headers, kept_ids, clients)
            load.start()
            began = time.perf_counter()
            pruned = admin.post("/api/v1/retention/prune", json={"dry_run": False}).json()
            prune_s = time.perf_counter() - began
            during = load.stop()
            after_idle = phase(base, headers, kept_ids, clients, idle_s)
            after = admin.get("/api/v1/storage").json()["database"]
    totals = pruned["totals"]
    print(
        f"pruned {totals['executions']:,} executions, {totals['steps']:,} steps "
        f"in {prune_s:.1f} s; "
        f"{pruned['reclaimed_bytes'] / 2**20:.1f} MiB given back (database "
        f"{before['size_bytes'] / 2**20:.1f} -> {after['size_bytes'] / 2**20:.1f} MiB)"
    )
    print(f"API latency, {clients} clients (list, read, write = POST /keys):")
    base_p95 = report("idle", idle)
    prune_p95 = report("pruning", during)
    report("idle", after_idle)
    ratio = prune_p95["all"] / base_p95["all"]
    print(
        f"p95 of every request: {prune_p95['all']:.1f} ms while pruning vs {base_p95['all']:.1f} "
        f"ms idle = x{ratio:.2f}; writes {prune_p95['write']:.1f} vs {base_p95['write']:.1f} ms"
    )


if __name__ == "__main__":
    main()
