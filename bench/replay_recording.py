"""What recording the outside world costs a run (deterministic replay). A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/replay_recording.py           # full run, about three minutes at load 10
    .venv/bin/python bench/replay_recording.py --quick   # smoke run; its numbers mean little

Two helper processes stand in for zygotes: each forks one worker per run, which runs the
job with :func:`runtree.execution.worker.run_job` (unsandboxed, tracking on) and reports on a
pipe; the helper times the run from the fork to the result's last byte. Both helpers import
``requests`` and runtree's worker before forking. The **baseline**
helper never patches the HTTP clients and its jobs record nothing (``RUNTREE_RECORD_WORLD=off``);
the **recording** helper patches them once before forking, as the zygote does
(:func:`runtree.execution.world.prepare`), and its jobs record (clock, randomness, HTTP).
Runs alternate between the helpers (same-run baseline), in rounds; each round's median per
helper, then the median of the rounds' ratios.

Two functions:

* ``no_calls`` -- five nested calls and a little arithmetic, no outbound request (what most
  functions are): the target is at most +2 %;
* ``three_calls`` -- three GET requests with ``requests`` to an HTTP server this process
  runs on loopback (a JSON answer of about 1 KiB each): the target is "a few percent".

Then, in this process: what a run's recording session costs by itself
(:class:`runtree.execution.world.Session` start and stop in record mode, no request: the
clock and randomness swapped in and out, the cassette armed and disarmed), and the three
requests in a recording against the same three requests before the clients were patched
(measured first, so not interleaved) and once patched but idle (vcrpy's stubs passing
through).

The machine is shared and noisy: compare the ratios more than the absolute figures. Exits 0
whatever the numbers; non-zero only when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

NO_CALLS = """\
def tax(amount):
    return round(amount * 0.19, 2)

def discount(amount, code):
    rates = {"SAVE10": 0.1}
    return amount * (1 - rates.get(code, 0))

def lines(n):
    return [{"sku": i, "price": 1.5 * i} for i in range(n)]

def subtotal(items):
    return sum(item["price"] for item in items)

def no_calls(n: int):
    items = lines(n)
    amount = discount(subtotal(items), "SAVE10")
    return {"subtotal": amount, "tax": tax(amount)}
"""

THREE_CALLS = """\
import requests

def fetch(base, i):
    return requests.get(f"{base}/items/{i}", timeout=5).json()

def three_calls(base: str):
    return sum(len(fetch(base, i)["rows"]) for i in range(3))
"""


class _Items(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    body = json.dumps({"rows": [{"id": i, "name": f"row {i}"} for i in range(40)]}).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def helper(mode: str) -> None:
    """A stand-in zygote: for each job read on stdin (one JSON line), fork a worker, run it,
    and answer with the run's wall time in ns (fork to the result's last byte)."""
    sys.path.insert(0, str(ROOT / "src"))
    import requests  # noqa: F401  (both: the clients are loaded before forking, as in a zygote)

    from runtree.execution.job import FunctionSource, Job
    from runtree.execution.worker import preload, run_job, warm_up
    from runtree.execution.world import prepare

    preload()
    warm_up()
    if mode == "record":
        prepare()
    for line in sys.stdin:
        spec = json.loads(line)
        world = None
        if mode == "record":
            world = {"mode": "record", "http_limit": 16 << 20, "secret_names": [], "network": True}
        job = Job(
            "bench",
            "default",
            spec["entry"],
            {spec["entry"]: FunctionSource(spec["source"], 1)},
            kwargs=spec["kwargs"],
            network=True,
            world=world,
        )
        read, write = os.pipe()
        started = time.perf_counter_ns()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            os._exit(run_job(job, write))
        os.close(write)
        data = bytearray()
        while chunk := os.read(read, 1 << 16):
            data += chunk
        elapsed = time.perf_counter_ns() - started
        os.close(read)
        os.waitpid(pid, 0)
        result = json.loads(bytes(data).splitlines()[-1])
        if result.get("status") != "succeeded":
            raise SystemExit(f"the run failed: {result.get('error')}")
        print(json.dumps({"ns": elapsed, "world": "world" in result}), flush=True)


class Helper:
    def __init__(self, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--helper", mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, spec: dict[str, Any]) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(spec) + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise SystemExit("a helper died")
        return int(json.loads(answer)["ns"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


def measure(
    name: str, spec: dict[str, Any], rounds: int, per_round: int, helpers: dict[str, Helper]
) -> None:
    for helper_ in helpers.values():  # warm: first runs touch memory and connections
        for _ in range(3):
            helper_.run(spec)
    ratios, medians = [], {"off": [], "record": []}
    for _ in range(rounds):
        times: dict[str, list[int]] = {"off": [], "record": []}
        for _ in range(per_round):
            for mode in ("off", "record"):
                times[mode].append(helpers[mode].run(spec))
        off, rec = statistics.median(times["off"]), statistics.median(times["record"])
        medians["off"].append(off)
        medians["record"].append(rec)
        ratios.append(rec / off)
    off_ms = statistics.median(medians["off"]) / 1e6
    rec_ms = statistics.median(medians["record"]) / 1e6
    ratio = statistics.median(ratios)
    print(
        f"{name:12} baseline {off_ms:7.3f} ms  recording {rec_ms:7.3f} ms  "
        f"ratio x{ratio:.4f} ({(ratio - 1) * 100:+.2f} %)  "
        f"[{rounds} rounds x {per_round} runs each, medians]"
    )


def _median_ns(function: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        function()
        times.append(time.perf_counter_ns() - started)
    return statistics.median(times)


def in_process(base: str, runs: int) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    import requests

    import runtree
    from runtree.execution.world import Session, prepare

    spec = {"mode": "record", "http_limit": 16 << 20, "secret_names": [], "network": True}

    def three() -> None:
        with runtree.record():
            for i in range(3):
                requests.get(f"{base}/items/{i}", timeout=5).json()

    def session() -> None:
        world = Session(spec, ["default/three_calls.py"])
        world.start()
        world.stop()

    def recorded() -> None:
        world = Session(spec, ["default/three_calls.py"])
        world.start()
        three()
        world.stop()

    unpatched = _median_ns(three, runs)
    prepare()
    idle = _median_ns(three, runs)
    recording = _median_ns(recorded, runs)
    alone = _median_ns(session, runs * 10)
    print(f"session start+stop alone (no request): {alone / 1e3:.1f} us median of {runs * 10}")
    print(
        f"3 requests in-process: unpatched {unpatched / 1e6:.2f} ms, patched idle "
        f"{idle / 1e6:.2f} ms (x{idle / unpatched:.2f}), recording {recording / 1e6:.2f} ms "
        f"(x{recording / unpatched:.2f}) [medians of {runs}]"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--helper", choices=("off", "record"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper:
        helper(args.helper)
        return 0
    rounds, per_round = (3, 5) if args.quick else (10, 10)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Items)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    helpers = {"off": Helper("off"), "record": Helper("record")}
    load = os.getloadavg()[0]
    print(f"replay recording cost: Python {platform.python_version()}, load {load:.1f}")
    try:
        measure(
            "no_calls",
            {"entry": "no_calls", "source": NO_CALLS, "kwargs": {"n": 20}},
            rounds,
            per_round,
            helpers,
        )
        measure(
            "three_calls",
            {"entry": "three_calls", "source": THREE_CALLS, "kwargs": {"base": base}},
            rounds,
            per_round,
            helpers,
        )
        in_process(base, rounds * per_round)
    finally:
        for helper_ in helpers.values():
            helper_.close()
        server.shutdown()
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
