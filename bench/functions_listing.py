"""How much counting calls as a step costs the Functions page (``GET /functions``).

A SQLite store with 21 functions, one of them recursive with ``--executions`` runs of 10,000
recorded steps each, is listed with the step counts and without them (the same statement
with the count's cap at 0, so that it reads nothing), interleaved; medians of ``--rounds``
listings. The count reads one index entry per call up to 10,000 per function
(``catalog.STEP_COUNT_CAP``).

    .venv/bin/python bench/functions_listing.py            # 100 executions: 1,000,000 steps
    .venv/bin/python bench/functions_listing.py --quick    # 5 executions, for a smoke run
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from runtree.store import Store, catalog

STEPS_PER_EXECUTION = 10_000


def build(store: Store, executions: int) -> None:
    def deploy(name: str) -> None:
        store.deploy_version(
            "default",
            name,
            source=f"def {name}():\n    return 1\n",
            settings={},
            sha256=name,
            warnings=[],
            dependencies=[],
            signature={"name": name, "parameters": []},
            description=None,
            created_by=None,
        )

    for index in range(20):
        deploy(f"f{index}")
    deploy("fib")
    version = store.get_version("default", "fib")
    assert version is not None
    rows = text(
        "INSERT INTO steps (execution_id, id, parent_id, sequence, depth, name, function,"
        " status, started_at_ns, stdout, stdout_truncated, warnings, aggregates) VALUES"
        " (:e, :i, :p, :i, 1, 'fib', 'default/fib', 'completed', 0, '', 0, '[]', '[]')"
    )
    for _ in range(executions):
        execution = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
        with store.engine.begin() as connection:
            connection.execute(
                rows,
                [
                    {"e": execution.id, "i": i, "p": None if i == 1 else i - 1}
                    for i in range(1, STEPS_PER_EXECUTION + 1)
                ],
            )


def median_ms(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 executions, 5 rounds")
    args = parser.parse_args()
    executions, rounds = (5, 5) if args.quick else (args.executions, args.rounds)
    with (
        tempfile.TemporaryDirectory() as folder,
        Store(f"sqlite:///{Path(folder) / 'bench.db'}") as store,
    ):
        build(store, executions)
        cap = catalog.STEP_COUNT_CAP
        with_counts: list[float] = []
        without: list[float] = []
        for _ in range(3):
            with_counts.append(median_ms(store.list_functions, rounds))
            catalog.STEP_COUNT_CAP = 0
            try:
                without.append(median_ms(store.list_functions, rounds))
            finally:
                catalog.STEP_COUNT_CAP = cap
        (fib,) = [f for f in store.list_functions() if f.name == "fib"]
    a, b = statistics.median(with_counts), statistics.median(without)
    print(
        f"{executions * STEPS_PER_EXECUTION:,} recorded steps of one function, 21 functions; "
        f"fib's step_count = {fib.step_count:,}"
    )
    print(
        f"list_functions: {a:.1f} ms with step counts, {b:.1f} ms without "
        f"(+{a - b:.1f} ms, {a / b:.2f}x)"
    )


if __name__ == "__main__":
    main()
