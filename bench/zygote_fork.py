"""What forking a run costs from each kind of zygote, by its size. A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/zygote_fork.py           # about half a minute
    .venv/bin/python bench/zygote_fork.py --quick   # smoke run; its numbers mean little

Every run is a child forked from a zygote, and forking and ending a process costs in
proportion to the memory it shares with its parent. A recording server keeps up to three
zygotes (:mod:`runtree.execution.world.reach`): one that holds nothing of the world, one
that holds the clock and randomness (time-machine, a seeded ``random``), and one that also
holds vcrpy and the HTTP clients it patches. This measures, for each, a process preloaded
exactly as that zygote is (``runtree.execution.zygote._preload`` with its options), then
forking children that exit at once: the CPU time per fork in the parent and in the child
(``getrusage``: the children's once they are reaped), the wall clock of a fork and its
reaping, and the child's page faults.
Kinds alternate in rounds (each round a fresh process per kind); medians of the rounds,
and each kind's difference from the zygote that holds nothing.

Then what each library the HTTP zygote adds costs in memory: the anonymous memory
(``RssAnon``) a process preloaded as the clock-and-randomness zygote gains by importing it,
in the order the HTTP zygote imports them.

Exits 0 whatever the numbers; non-zero only when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The zygote's command-line options per kind (see runtree.execution.zygote.Options).
KINDS = {
    "none": ["--no-http-recording"],
    "local": ["--local-world"],
    "http": [],
}

# What the HTTP zygote imports on top of the clock-and-randomness one, in order (vcrpy
# imports the clients it patches; runtree's HTTP module imports vcrpy).
LIBRARIES = (
    "email.parser",
    "http.client",
    "urllib.request",
    "unittest.mock",
    "yaml",
    "wrapt",
    "urllib3",
    "idna",
    "charset_normalizer",
    "requests",
    "httpcore",
    "httpx",
    "vcr",
    "runtree.execution.world.http",
)


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in kB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _preloaded(kind: str) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from runtree.execution import zygote

    zygote._preload(zygote.Options.parse(KINDS[kind]))
    gc.collect()
    gc.freeze()  # as the zygote does before it forks


def child_forks(kind: str, forks: int) -> dict[str, float]:
    """In a fresh process preloaded as ``kind``'s zygote: ``forks`` children that exit at
    once; per fork, medians where a per-fork figure exists."""
    _preloaded(kind)
    with open("/proc/self/maps") as maps:
        mappings = sum(1 for _ in maps)
    walls: list[float] = []
    parent_started = time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(forks):
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        walls.append(time.perf_counter() - started)
    parent = (time.process_time() - parent_started) / forks
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = (
        after.ru_utime + after.ru_stime - children_before.ru_utime - children_before.ru_stime
    ) / forks
    return {
        "anon_kb": _status("RssAnon"),
        "mappings": mappings,
        "wall_us": statistics.median(walls) * 1e6,
        "parent_us": parent * 1e6,
        "child_us": children * 1e6,
        "child_faults": (after.ru_minflt - children_before.ru_minflt) / forks,
    }


def library_memory() -> list[tuple[str, int, int]]:
    """(library, kB of anonymous memory, modules) each library adds, imported in order into
    a process preloaded as the clock-and-randomness zygote (the extras the recording zygote
    leaves out hidden, as it hides them)."""
    _preloaded("local")
    from runtree.execution.world.imports import without

    found = []
    last = _status("RssAnon")
    with without():
        for name in LIBRARIES:
            modules = len(sys.modules)
            try:
                importlib.import_module(name)
            except ImportError:
                continue
            gc.collect()
            now = _status("RssAnon")
            found.append((name, now - last, len(sys.modules) - modules))
            last = now
    return found


def _in_child(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-I", str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FORKS"), help=argparse.SUPPRESS)
    parser.add_argument("--libraries", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_forks(args.child[0], int(args.child[1]))))
        return 0
    if args.libraries:
        print(json.dumps(library_memory()))
        return 0
    rounds, forks = (1, 20) if args.quick else (7, 500)
    print(
        f"zygote fork cost: Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}, "
        f"{rounds} rounds x {forks} forks per kind"
    )
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(rounds):
        for kind in KINDS:
            results[kind].append(json.loads(_in_child("--child", kind, str(forks))))
    medians = {
        kind: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for kind, runs in results.items()
    }
    base = medians["none"]["parent_us"] + medians["none"]["child_us"]
    for kind, figures in medians.items():
        cpu = figures["parent_us"] + figures["child_us"]
        print(
            f"{kind:5} anon {figures['anon_kb'] / 1024:5.1f} MB in {figures['mappings']:.0f} "
            f"mappings: fork+reap {figures['wall_us']:7.1f} us wall, CPU per fork "
            f"{figures['parent_us']:6.1f} us parent + {figures['child_us']:6.1f} us child "
            f"({cpu - base:+6.1f} us vs none), child page faults {figures['child_faults']:.0f}"
        )
    print("what the HTTP zygote adds to the clock-and-randomness one, by library:")
    total = 0
    for name, kb, modules in json.loads(_in_child("--libraries")):
        total += kb
        print(f"  {name:32} {kb / 1024:5.2f} MB  {modules:3d} modules")
    print(f"  {'in all':32} {total / 1024:5.2f} MB")
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
