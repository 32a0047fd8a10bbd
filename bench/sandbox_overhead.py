"""What does the sandbox add to one execution?  A standalone benchmark.

Run it from the project root, as root (the sandbox switches executions to slot uids)::

    .venv/bin/python bench/sandbox_overhead.py           # full run, about half a minute
    .venv/bin/python bench/sandbox_overhead.py --quick   # smoke run, a few seconds

Informational: it exits 0 whatever the numbers are (non-zero only when it could not run an
execution at all); ``tests/bench/test_sandbox_overhead_smoke.py`` runs ``--quick``.

Setup
-----
Two execution engines in this process, each a
:class:`~runtree.execution.zygote_launcher.ZygoteLauncher` with its own warm zygote and a
:class:`~runtree.execution.supervisor.Supervisor`: one with the
sandbox this host's probe allows (``runtree doctor`` shows which layers), one with the sandbox
off (``Sandbox.disabled()``: the same zygote from the same Python, no confinement). The trivial
function ``def add(a, b): return a + b`` runs in both, rounds interleaved so that the shared,
noisy machine slows both alike.

What each number means
----------------------
* **request path**: wall time of ``Supervisor.run`` (lease a slot uid and a work directory,
  hand the job to the zygote's spare, confine, run, report), the part an API request waits
  for. Sandboxed runs alternate between two slots, as a server's two dispatcher slots do, so
  a slot's clean-up (no process of its uid left, work directory deleted: off the request
  path) overlaps the other slot's run.
* **one slot, back to back**: the same, always on slot 0, so each run also waits for the
  previous run's clean-up: the worst case of a server with a single busy slot.
* **nice 0**: the same sandbox with ``RUNTREE_SANDBOX_NICE=0``. Sandboxed runs are niced
  (10 by default) so that they never slow the server down; on a busy machine that alone
  delays them, by design. This row separates the cost of confinement from that policy.
* **added**: sandboxed minus unsandboxed, per percentile. Target: <= 5 ms at p50.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from runtree.execution.job import FunctionSource, Job
from runtree.execution.sandbox.config import SandboxConfig
from runtree.execution.sandbox.slots import Sandbox
from runtree.execution.supervisor import Supervisor
from runtree.execution.zygote_launcher import ZygoteLauncher

SOURCE = "def add(a, b):\n    return a + b\n"
TARGET_MS = 5.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds")
    options = parser.parse_args()
    rounds, per_round, warm = (3, 5, 5) if options.quick else (10, 20, 30)

    print("== 1. Setup ==")
    if os.geteuid() != 0:
        print(
            "not root: the sandbox cannot switch executions to slot uids here, so there is "
            "nothing to compare (run as root, after `make runtime`)"
        )
        print("== Summary ==\nskipped")
        return 0
    sandbox = Sandbox.probe(SandboxConfig.from_env(enabled=True))
    print(sandbox.report.summary)
    if not sandbox.report.tier0:
        print("tier 0 is incomplete here: nothing to compare (see `runtree doctor`)")
        print("== Summary ==\nskipped")
        return 0
    sandbox.reserve(2)
    not_niced = Sandbox.probe(SandboxConfig.from_env(enabled=True, nice=0))
    not_niced.reserve(2)
    engines = {
        "unsandboxed": Supervisor(ZygoteLauncher(Sandbox.disabled())),
        "sandboxed": Supervisor(ZygoteLauncher(sandbox)),
        "nice 0": Supervisor(ZygoteLauncher(not_niced)),
    }
    job = Job(
        "bench", "default", "add", {"add": FunctionSource(SOURCE, 1)}, kwargs={"a": 1, "b": 2}
    )
    turn = [0]

    def run(name: str, slot: int | None) -> None:
        outcome = engines[name].run(job, on_steps=lambda steps: None, slot=slot)
        output = outcome.output
        if outcome.status != "succeeded" or output is None or output["preview"] != 3:
            raise SystemExit(f"{name}: the execution did not succeed: {outcome}")

    def two_slots(name: str = "sandboxed") -> None:
        turn[0] += 1
        run(name, turn[0] % 2)

    try:
        for _ in range(warm):
            run("unsandboxed", None)
            two_slots()
            two_slots("nice 0")
        print(f"warm-up: {warm} executions each; rounds: {rounds} x {per_round}, interleaved")

        samples: dict[str, list[float]] = {
            "unsandboxed": [],
            "sandboxed": [],
            "nice 0": [],
            "one slot": [],
        }
        for _ in range(rounds):
            for _ in range(per_round):
                samples["unsandboxed"].append(timed(lambda: run("unsandboxed", None)))
                samples["sandboxed"].append(timed(two_slots))
                samples["nice 0"].append(timed(lambda: two_slots("nice 0")))
            for _ in range(per_round):
                samples["one slot"].append(timed(lambda: run("sandboxed", 0)))
    finally:
        for engine in engines.values():
            engine.launcher.close()
        sandbox.close()
        not_niced.close()

    print("\n== 2. Latency per execution, ms ==")
    print(f"{'':28} {'p50':>7} {'p95':>7} {'mean':>7}")
    rows = [
        ("unsandboxed", "unsandboxed"),
        ("sandboxed (request path)", "sandboxed"),
        ("sandboxed, nice 0", "nice 0"),
        ("sandboxed (one slot)", "one slot"),
    ]
    for label, key in rows:
        values = samples[key]
        print(
            f"{label:28} {percentile(values, 50):7.2f} {percentile(values, 95):7.2f} "
            f"{statistics.fmean(values):7.2f}"
        )

    base = samples["unsandboxed"]
    added50 = percentile(samples["sandboxed"], 50) - percentile(base, 50)
    added95 = percentile(samples["sandboxed"], 95) - percentile(base, 95)
    one50 = percentile(samples["one slot"], 50) - percentile(base, 50)
    nice50 = percentile(samples["nice 0"], 50) - percentile(base, 50)
    print("\n== Summary ==")
    verdict = "PASS" if added50 <= TARGET_MS else "MISS"
    print(
        f"sandbox adds {added50:+.2f} ms at p50 ({added95:+.2f} ms at p95) on the request "
        f"path; target <= {TARGET_MS:g} ms at p50: {verdict}"
    )
    print(
        f"of which confinement alone (nice 0): {nice50:+.2f} ms at p50; the rest is the "
        "lower priority on a busy machine"
    )
    print(f"one slot back to back (waiting for each clean-up): {one50:+.2f} ms at p50")
    print(f"load average during the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
