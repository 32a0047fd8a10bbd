"""What the value index costs the server per stored step: ``save_steps`` of batches of
order-like steps (a customer dict in, a dict out: ~9 indexed scalars per step) with the index
on, against the same batches with indexing switched off, interleaved rounds in one run on one
SQLite file; and the index's rows and bytes per step.

    .venv/bin/python bench/value_index.py [--steps 200] [--rounds 15]
"""

from __future__ import annotations

import argparse
import pathlib
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from runtree.store import Store, steps, value_index
from store.store_helpers import captured, deploy, make_step


def batch(size: int, offset: int) -> list[dict]:
    customer = {"id": 42, "name": "Ada", "email": "ada@example.com", "country": "NL"}
    return [
        make_step(
            offset + i,
            inputs={"customer": captured(customer), "subtotal": captured(100.0 + i)},
            output=captured({"total": 108.9 + i, "currency": "EUR", "customer": "Ada"}),
        )
        for i in range(1, size + 1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    real = value_index.index_payloads
    timings: dict[str, list[float]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/bench.db") as store:
        version = deploy(store)
        for n in range(args.rounds):
            for mode in ("off", "on") if n % 2 else ("on", "off"):
                execution = store.enqueue_execution(
                    version=version, trigger="api", input={}, versions={"orders": 1}
                )
                steps.index_payloads = real if mode == "on" else (lambda *a, **k: None)  # type: ignore[assignment]
                data = batch(args.steps, 0)
                started = time.perf_counter()
                store.save_steps(execution.id, data)
                timings[mode].append((time.perf_counter() - started) / args.steps * 1e6)
        steps.index_payloads = real
        with sqlite3.connect(f"{tmp}/bench.db") as connection:
            rows = connection.execute("SELECT count(*) FROM value_hashes").fetchone()[0]
            size = connection.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%value_hashes%'"
            ).fetchone()[0]
    indexed_steps = args.rounds * args.steps
    off, on = statistics.median(timings["off"]), statistics.median(timings["on"])
    print(f"save_steps per step, median of {args.rounds} batches of {args.steps}:")
    print(
        f"  index off {off:8.1f} us   index on {on:8.1f} us   x{on / off:.2f} (+{on - off:.1f} us)"
    )
    print(
        f"  index: {rows / indexed_steps:.1f} rows and {size / indexed_steps:.0f} bytes "
        "per step (table and its indexes, SQLite dbstat)"
    )


if __name__ == "__main__":
    main()
