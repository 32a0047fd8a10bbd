"""How much CPU does the server's store spend on one small execution?  A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/store_cpu.py                      # SQLite, and PostgreSQL if reachable
    .venv/bin/python bench/store_cpu.py --baseline-src ../other/src   # before/after, same run
    .venv/bin/python bench/store_cpu.py --quick              # smoke run

In process, no server, no worker: the store calls the server makes for each execution of
``bench/execution_latency.py``'s ``add(1, 2)``, timed with ``time.thread_time()`` (CPU of
this thread; a PostgreSQL backend's own CPU is not in it, SQLite's is):

* ``enqueue``: ``service.run_function`` as the API calls it (authorize, validate the input,
  queue the execution with its ``execution.start`` audit entry);
* ``claim``: ``store.claim_next_execution``;
* ``finish``: ``store.finish_execution`` with the run's last batch of steps (one step, its
  inputs and output captured as a worker sends them) and its world recording -- the
  server's "store the steps, recording and end".

Each figure is the median over ``--calls`` executions after 20 warm-up ones (a fresh SQLite
file in a temporary directory; a fresh PostgreSQL database, ``RUNTREE_TEST_POSTGRES_URL`` or
``postgresql://postgres@127.0.0.1:5432/test`` as the maintenance database, dropped at the
end). With ``--baseline-src`` the same measurement runs with another source tree's
``runtree`` (e.g. a checkout of ``main``) in alternating rounds, and the ratios
this tree / baseline are printed (lower is better). The machine is shared: quote the load
average printed beside the figures. The script exits 0 whatever the numbers are.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

SOURCE = "def add(a: int, b: int) -> int:\n    return a + b\n"


def _captured(value: int, blob: bytes) -> dict[str, Any]:
    return {
        "preview": value,
        "size": len(blob),
        "format": "pickle",
        "truncated": False,
        "redacted": False,
        "type": "int",
        "blob": blob,
    }


# The last batch and the world of one run of add(1, 2), as the worker sends them.
STEP = {
    "id": 1,
    "parent_id": None,
    "sequence": 1,
    "depth": 0,
    "name": "add",
    "filename": "default/add.py",
    "lineno": 1,
    "version": 1,
    "status": "completed",
    "started_at_ns": 1_796_478_885_190_899_273,
    "duration_ns": 3885,
    "inputs": {"a": _captured(1, b"\x80\x05K\x01."), "b": _captured(2, b"\x80\x05K\x02.")},
    "output": _captured(3, b"\x80\x05K\x03."),
    "error": None,
    "stdout": "",
    "stdout_truncated": False,
    "warnings": [],
    "aggregates": [],
    "generator": None,
    "function": "default/add",
}
ADMIN_URL = os.environ.get("RUNTREE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def measure(url: str, calls: int) -> dict[str, float]:
    """Median CPU ms per enqueue, claim and finish over ``calls`` executions."""
    from runtree import service
    from runtree.execution.world import empty_recording
    from runtree.store import Store

    world = {"recording": empty_recording()}  # what a run that reaches nothing records
    spent: dict[str, list[float]] = {"enqueue": [], "claim": [], "finish": []}
    with Store(url) as store:
        service.deploy(store, "default", "add", SOURCE)
        admin = service.Principal.local()
        for index in range(calls + 20):
            start = time.thread_time()
            queued = service.run_function(store, admin, "default", "add", {"a": 1, "b": 2})
            queued_at = time.thread_time()
            claimed = store.claim_next_execution("bench")
            claimed_at = time.thread_time()
            assert claimed is not None and claimed.id == queued.id
            ended = store.finish_execution(
                queued.id, status="succeeded", output=3, steps=[STEP], world=world
            )
            ended_at = time.thread_time()
            assert ended.status == "succeeded"
            if index >= 20:
                spent["enqueue"].append(queued_at - start)
                spent["claim"].append(claimed_at - queued_at)
                spent["finish"].append(ended_at - claimed_at)
    return {name: statistics.median(values) * 1000 for name, values in spent.items()}


def postgres_database() -> tuple[str, str] | None:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"runtree_bench_{secrets.token_hex(5)}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return url, name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one_round(backend: str, calls: int) -> dict[str, float] | None:
    """One measurement in this process (``--child``)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            return measure(f"sqlite:///{directory}/bench.db", calls)
    made = postgres_database()
    if made is None:
        return None
    try:
        return measure(made[0], calls)
    finally:
        drop_database(made[1])


def child_round(src: str | None, backend: str, calls: int) -> dict[str, float] | None:
    """One measurement in a fresh interpreter importing ``runtree`` from ``src`` (or the
    installed one)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.path.abspath(src)
    done = subprocess.run(
        [sys.executable, __file__, "--child", backend, "--calls", str(calls)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] | None = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few calls, one round")
    parser.add_argument("--calls", type=int, default=500, help="executions per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per tree and backend")
    parser.add_argument("--baseline-src", help="another tree's src/ to compare against")
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_round(args.child, args.calls)))
        return 0
    calls, rounds = (10, 1) if args.quick else (args.calls, args.rounds)
    trees: list[tuple[str, str | None]] = [("this tree", None)]
    if args.baseline_src:
        trees.append(("baseline", args.baseline_src))
    for backend in ("sqlite", "postgresql"):
        results: dict[str, list[dict[str, float]]] = {label: [] for label, _ in trees}
        for _ in range(rounds):
            for label, src in trees:  # alternating: both trees see the same load
                figures = child_round(src, backend, calls)
                if figures is None:
                    break
                results[label].append(figures)
        if not results["this tree"]:
            print(f"{backend}: not reachable, skipped")
            continue
        print(f"{backend}: CPU ms per call, median over {calls} calls, median of {rounds} rounds")
        print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        medians = {
            label: {
                name: statistics.median(r[name] for r in rounds_)
                for name in ("enqueue", "claim", "finish")
            }
            for label, rounds_ in results.items()
            if rounds_
        }
        for name in ("enqueue", "claim", "finish"):
            line = f"  {name:8} {medians['this tree'][name]:7.3f} ms"
            if "baseline" in medians:
                base = medians["baseline"][name]
                ratio = medians["this tree"][name] / base
                line += f"   baseline {base:7.3f} ms   ratio {ratio:.2f}"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
