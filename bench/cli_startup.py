"""How long does a CLI command take to start?  A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/cli_startup.py           # 15 interleaved rounds, about a minute
    .venv/bin/python bench/cli_startup.py --quick   # smoke run, a few seconds

Informational: it exits 0 whatever the numbers are; ``tests/bench/test_cli_startup_smoke.py``
runs ``--quick``.

Each round runs, one after the other, a bare ``python -c pass`` (the interpreter's own
start, the baseline), ``runtree --help`` and ``runtree show ID`` on a local SQLite database
holding one finished execution of the order example, each as a fresh process. It prints the
median wall time and CPU time (user + system of the child) of each, and each command's
median over the baseline's. The machine is shared and noisy: wall time follows the load,
CPU time much less; compare the figures of one run with each other. Target: 0.3 s wall for
``--help`` and for ``show``. Python's bytecode cache is on for the commands (as for a user,
whatever ``PYTHONDONTWRITEBYTECODE`` says here) and each runs once before the timed rounds.
``python -X importtime -m runtree --help`` says where the rest
goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "orders"
TARGET_S = 0.3


def runtree(*args: str) -> list[str]:
    return [sys.executable, "-m", "runtree", *args]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``command`` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, default=15)
    options = parser.parse_args()
    rounds = 3 if options.quick else options.rounds
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("RUNTREE_URL", None)
    # Compiling the sources again in every round is not what a user's second command costs.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="runtree-cli-bench-") as directory:
        database = f"sqlite:///{directory}/runtree.db"
        subprocess.run(
            runtree("--database", database, "deploy", str(EXAMPLE)),
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ran = subprocess.run(
            runtree(
                "--database",
                database,
                "run",
                "calculate_order_total",
                "-a",
                "customer_id=42",
                "--no-wait",
            ),
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        execution_id = ran.stdout.strip()
        # --no-wait leaves it queued: `show` of a queued execution reads the same rows.
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "runtree --help": runtree("--help"),
            "runtree show ID (local)": runtree("--database", database, "show", execution_id),
        }
        for command in commands.values():  # warm-up: writes the bytecode cache
            timed(command, env)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                wall, cpu = timed(command, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    baseline = statistics.median(walls["python -c pass (baseline)"])
    load = os.getloadavg()[0]
    print(
        f"CLI start-up, median of {rounds} rounds (load average {load:.1f}, "
        f"{os.cpu_count()} CPUs; target {TARGET_S:.1f} s wall)"
    )
    print(f"{'command':<28} {'wall s':>8} {'CPU s':>8} {'x baseline':>11}")
    for name in commands:
        wall = statistics.median(walls[name])
        cpu = statistics.median(cpus[name])
        print(f"{name:<28} {wall:>8.3f} {cpu:>8.3f} {wall / baseline:>10.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
