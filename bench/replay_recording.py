"""What recording the outside world costs a run (deterministic replay). A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/replay_recording.py           # full run, a few minutes at load 5
    .venv/bin/python bench/replay_recording.py --quick   # smoke run; its numbers mean little

Runs go through runtree's real zygote (:class:`runtree.execution.zygote_launcher.ZygoteLauncher`,
unsandboxed: ``RUNTREE_SANDBOX=off``), as a server starts them: spare workers forked ahead and
warmed up, compiled code cached, the message pipe read to its end. A run is timed from
handing the job to the zygote to the result's last byte. Two zygotes run side by side: the
**baseline** zygote does not record (``--no-http-recording``, jobs without ``world``: what
``RUNTREE_RECORD_WORLD=off`` runs) and the **recording** zygote does, as by default (it
imports vcrpy and patches the HTTP clients once before forking; each job records its clock,
randomness and HTTP). Runs alternate between them (same-run baseline), in rounds; each
round's median per zygote, then the median of the rounds' ratios.

Each job goes to the zygote the product picks for it (``world["reach"]`` from
:mod:`runtree.execution.world.reach`, as ``ExecutionRunner.build_job`` sets it): code that
can make HTTP requests records in the recording launcher's zygote with the HTTP clients,
code that cannot but reads the clock or randomness in the one that holds only those, code
that can do neither in the one that holds nothing of the world (and checks that it did).
Functions, all without an outbound request but the last two (the target for those is at
most +2 %):

* ``no_calls`` -- five nested calls and a little arithmetic; it imports nothing, so it
  reaches nothing of the world (what pure business logic is).
* ``no_calls_clock`` -- the same, plus ``datetime.now()`` and ``random.random()`` once: it
  records in the zygote with the clock and randomness.
* ``no_calls_unknown`` -- the same function in a module that also imports ``pickle`` (and
  does not use it): ``pickle`` loads classes by name, so runtree cannot tell that the code
  makes no request and records it in the zygote with the clients patched, as every
  recording run did before runtree told them apart (what a no-call function pays that
  imports an HTTP client, a third-party package or anything else runtree cannot tell is
  harmless). Both zygotes have ``pickle`` imported already (an HTTP client the baseline
  zygote lacks would be imported by each of its runs: that would compare imports, not
  recording). (Until 2026-12-05 this row was ``no_calls_socket``, with ``import socket``:
  runtree now records such code in the clock-and-randomness zygote, as ``no_calls_clock``.)
* ``no_calls_unknown_idle`` -- the same job in the zygote with the clients patched, sent
  without a world, so that it records nothing: what holding vcrpy and the clients costs a
  run by itself, apart from recording.
* ``three_calls`` -- three GET requests with ``requests`` to an HTTP server this process
  runs on loopback (a JSON answer of about 1 KiB each): the target is "a few percent". Both
  zygotes import ``requests`` before forking here (the product's baseline zygote does not,
  so without it each baseline run would import it and look far slower than a recorded one:
  this compares recording, not imports).
* ``three_calls_idle`` -- the same job in the zygote with the clients patched, sent
  without a world, so that it records nothing (vcrpy's stubs pass its requests through,
  no session, nothing kept or sent back): of what ``three_calls`` costs, what holding
  vcrpy and its patched clients costs by itself, and so what runtree's recording adds.
* ``three_slow`` -- the same three requests to a server that takes 20 ms to answer each
  (``PARTNER_LATENCY_S``), as a partner API nearby would: what the same recording costs
  relative to a run whose requests leave the machine. Half the rounds (each run is ~60 ms).

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
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
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

# The same function reading the wall clock and drawing a random number: it records both.
NO_CALLS_CLOCK = "import datetime, random\n\n" + NO_CALLS.replace(
    '    return {"subtotal": amount, "tax": tax(amount)}',
    "    stamp, ticket = datetime.datetime.now().isoformat(), random.random()\n"
    '    return {"subtotal": amount, "tax": tax(amount), "at": stamp, "ticket": ticket}',
)
assert NO_CALLS_CLOCK.count("datetime.datetime.now()") == 1

# The same function in a module that also imports ``pickle`` (unused): it records in the
# zygote with the clients patched.
NO_CALLS_UNKNOWN = "import pickle\n\n" + NO_CALLS

THREE_CALLS = """\
import requests

def fetch(base, i):
    return requests.get(f"{base}/items/{i}", timeout=5).json()

def three_calls(base: str):
    return sum(len(fetch(base, i)["rows"]) for i in range(3))
"""


# How long the server takes to answer ``three_slow``'s requests: a partner API nearby.
PARTNER_LATENCY_S = 0.020


class _Items(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    body = json.dumps({"rows": [{"id": i, "name": f"row {i}"} for i in range(40)]}).encode()

    def do_GET(self) -> None:
        if self.path.startswith("/slow/"):
            time.sleep(PARTNER_LATENCY_S)  # a partner API's answer time, not loopback's
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def zygote_main(args: list[str]) -> None:
    """A zygote for the benchmark: runtree's own (``runtree.execution.zygote``), after
    importing ``requests`` when ``RUNTREE_BENCH_PRELOAD_REQUESTS`` is set."""
    sys.path.insert(0, str(ROOT / "src"))
    if os.environ.get("RUNTREE_BENCH_PRELOAD_REQUESTS"):
        import requests  # noqa: F401

    from runtree.execution import zygote

    sys.argv = ["zygote", *args]
    zygote.main()


class Zygotes:
    """The baseline and the recording zygote (``preload_requests``: both import requests)."""

    def __init__(self, preload_requests: bool) -> None:
        from runtree.execution import zygote_launcher as launcher

        # The launcher starts ``python -I -m runtree.execution.zygote ARGS``; this script
        # stands in for ``-m`` so that it can import requests first.
        launcher.worker_command = (
            lambda *args: [  # type: ignore[assignment]
                sys.executable,
                "-I",
                str(Path(__file__).resolve()),
                "--zygote",
                *args[1:],
            ]
        )
        if preload_requests:
            os.environ["RUNTREE_BENCH_PRELOAD_REQUESTS"] = "1"
        else:
            os.environ.pop("RUNTREE_BENCH_PRELOAD_REQUESTS", None)
        self.launchers = {
            "off": launcher.ZygoteLauncher(record_http=False),
            "record": launcher.ZygoteLauncher(record_http=True),
        }

    def run(self, mode: str, spec: dict[str, Any]) -> int:
        """One run's time in ns: ``off`` (the baseline zygote), ``record`` (the zygote the
        product picks, recording), ``idle`` (the zygote with the clients patched, the job
        sent without a world: nothing recorded)."""
        from runtree.execution.job import FunctionSource, Job
        from runtree.execution.world.reach import reach_of

        world = None
        if mode == "record":
            world = {"mode": "record", "http_limit": 16 << 20, "secret_names": [], "network": True}
            # What the runner decides (ExecutionRunner.build_job): which zygote runs it.
            world["reach"] = reach_of([spec["source"]])
        job = Job(
            "bench",
            "default",
            spec["entry"],
            {spec["entry"]: FunctionSource(spec["source"], 1)},
            kwargs=spec["kwargs"],
            network=True,
            world=world,
        )
        if mode == "record" and job.world_reach != spec["reach"]:
            raise SystemExit(f"{spec['entry']} went to the {job.world_reach!r} zygote")
        # As the supervisor sends it (a run that reaches nothing goes without a world: the
        # supervisor makes its recording, which costs the run nothing).
        data = job.for_worker().to_json()
        recorded = mode == "record" and job.world_reach != "none"
        launcher_ = self.launchers["off" if mode == "off" else "record"]
        read, write = os.pipe()
        started = time.perf_counter_ns()
        process = launcher_.start(data, write, reach="http" if mode == "idle" else job.world_reach)
        os.close(write)
        data = bytearray()
        while chunk := os.read(read, 1 << 16):
            data += chunk
        elapsed = time.perf_counter_ns() - started
        os.close(read)
        process.wait(30)
        result = json.loads(bytes(data).splitlines()[-1])
        if result.get("status") != "succeeded":
            raise SystemExit(f"the run failed: {result.get('error')}")
        if ("world" in result) != recorded:
            raise SystemExit(f"the {mode} run of {spec['entry']} sent back the wrong world")
        return elapsed

    def pids(self, mode: str) -> list[int]:
        """The pids of ``mode``'s zygotes (the recording launcher's main one and those for
        runs that reach less, once started)."""
        launcher_ = self.launchers["off" if mode == "off" else "record"]
        zygotes = (launcher_._zygote, *launcher_._lesser.values())
        return [zygote.process.pid for zygote in zygotes if zygote is not None]

    def close(self) -> None:
        for launcher_ in self.launchers.values():
            launcher_.close()


class ProcessCPU:
    """CPU time and page faults of processes and everything they fork while it is open,
    counted by ``perf stat`` (when the machine has it and lets us: else nothing)."""

    def __init__(self, pids: list[int]) -> None:
        handle, name = tempfile.mkstemp(prefix="bench-perf-", suffix=".txt")
        os.close(handle)
        self.output = Path(name)
        command = ["perf", "stat", "-x,", "-e", "task-clock,page-faults", "-o", str(self.output)]
        try:
            self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
                [*command, "-p", ",".join(map(str, pids))],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.process = None
        time.sleep(0.3)  # perf attaches

    def stop(self) -> dict[str, float]:
        """``{"task-clock": ms, "page-faults": n}`` since it was opened ({} without perf)."""
        if self.process is None:
            self.output.unlink(missing_ok=True)
            return {}
        self.process.send_signal(signal.SIGINT)
        self.process.wait(10)
        counted: dict[str, float] = {}
        with contextlib.suppress(OSError):
            for line in self.output.read_text().splitlines():
                fields = line.split(",")
                if len(fields) > 2 and fields[0].replace(".", "", 1).isdigit():
                    counted[fields[2]] = float(fields[0])
            self.output.unlink()
        return counted


def measure(
    name: str,
    spec: dict[str, Any],
    rounds: int,
    per_round: int,
    zygotes: Zygotes,
    mode: str = "record",
) -> None:
    """Runs of ``spec`` alternating between the baseline zygote and ``mode`` (``record``,
    or ``idle``: see :meth:`Zygotes.run`); prints the row ``name``."""
    modes = ("off", mode)
    for each in modes:  # warm: first runs compile and touch memory
        for _ in range(5):
            zygotes.run(each, spec)
    cpu = {each: ProcessCPU(zygotes.pids(each)) for each in modes}
    ratios: list[float] = []
    medians: dict[str, list[float]] = {"off": [], mode: []}
    for _ in range(rounds):
        times: dict[str, list[int]] = {"off": [], mode: []}
        for _ in range(per_round):
            for each in modes:
                times[each].append(zygotes.run(each, spec))
        off, rec = statistics.median(times["off"]), statistics.median(times[mode])
        medians["off"].append(off)
        medians[mode].append(rec)
        ratios.append(rec / off)
    counted = {each: cpu[each].stop() for each in modes}
    off_ms = statistics.median(medians["off"]) / 1e6
    rec_ms = statistics.median(medians[mode]) / 1e6
    ratio = statistics.median(ratios)
    label = "recording" if mode == "record" else "idle stubs"
    print(
        f"{name:21} baseline {off_ms:7.3f} ms  {label} {rec_ms:7.3f} ms  "
        f"ratio x{ratio:.4f} ({(ratio - 1) * 100:+.2f} %)  "
        f"[{rounds} rounds x {per_round} runs each, medians]"
    )
    runs = rounds * per_round
    off_cpu, rec_cpu = counted["off"].get("task-clock"), counted[mode].get("task-clock")
    if off_cpu and rec_cpu:
        off_faults = counted["off"].get("page-faults", 0) / runs
        rec_faults = counted[mode].get("page-faults", 0) / runs
        print(
            f"{'':21} CPU per run, zygote and all its processes (perf stat): baseline "
            f"{off_cpu / runs:.3f} ms, {label} {rec_cpu / runs:.3f} ms "
            f"({(rec_cpu / off_cpu - 1) * 100:+.2f} %); page faults {off_faults:.0f} and "
            f"{rec_faults:.0f} ({rec_faults - off_faults:+.0f})"
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


ROWS = (
    "no_calls",
    "no_calls_clock",
    "no_calls_unknown",
    "no_calls_unknown_idle",
    "three_calls",
    "three_calls_idle",
    "three_slow",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument(
        "--only",
        default=",".join(ROWS),
        help=f"the rows to measure, comma-separated (default: all of {', '.join(ROWS)}; "
        "the in-process figures come with the full run only)",
    )
    if sys.argv[1:2] == ["--zygote"]:
        zygote_main(sys.argv[2:])
        return 0
    args = parser.parse_args()
    only = [row for row in args.only.split(",") if row]
    unknown = sorted(set(only) - set(ROWS))
    if unknown:
        parser.error(f"no row named {', '.join(unknown)} (rows: {', '.join(ROWS)})")
    os.environ["RUNTREE_SANDBOX"] = "off"
    sys.path.insert(0, str(ROOT / "src"))
    rounds, per_round = (3, 5) if args.quick else (10, 10)
    # No-call runs take about 2 ms: 1,000 pairs of them take seconds, and a few points of
    # difference need that many here (with 100 pairs the same code gave -9 % to +33 %).
    short_rounds, short_per_round = (3, 5) if args.quick else (40, 25)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Items)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    no_call = {"entry": "no_calls", "kwargs": {"n": 20}}
    three = {"entry": "three_calls", "source": THREE_CALLS, "reach": "http"}
    # name -> (spec, rounds, runs per round, both zygotes import requests, compared mode)
    rows: dict[str, tuple[dict[str, Any], int, int, bool, str]] = {
        "no_calls": (
            {**no_call, "source": NO_CALLS, "reach": "none"},
            short_rounds,
            short_per_round,
            False,
            "record",
        ),
        "no_calls_clock": (
            {**no_call, "source": NO_CALLS_CLOCK, "reach": "local"},
            short_rounds,
            short_per_round,
            False,
            "record",
        ),
        "no_calls_unknown": (
            {**no_call, "source": NO_CALLS_UNKNOWN, "reach": "http"},
            short_rounds,
            short_per_round,
            False,
            "record",
        ),
        "no_calls_unknown_idle": (
            {**no_call, "source": NO_CALLS_UNKNOWN, "reach": "http"},
            short_rounds,
            short_per_round,
            False,
            "idle",
        ),
        "three_calls": ({**three, "kwargs": {"base": base}}, rounds, per_round, True, "record"),
        "three_calls_idle": ({**three, "kwargs": {"base": base}}, rounds, per_round, True, "idle"),
        "three_slow": (
            {**three, "kwargs": {"base": f"{base}/slow"}},
            max(3, rounds // 2),
            per_round,
            True,
            "record",
        ),
    }
    load = os.getloadavg()[0]
    print(f"replay recording cost: Python {platform.python_version()}, load {load:.1f}")
    try:
        for preload in (False, True):
            selected = [name for name in ROWS if name in only and rows[name][3] == preload]
            if not selected:
                continue
            zygotes = Zygotes(preload_requests=preload)
            try:
                for name in selected:
                    spec, row_rounds, row_per_round, _, mode = rows[name]
                    measure(name, spec, row_rounds, row_per_round, zygotes, mode)
            finally:
                zygotes.close()
        if set(only) == set(ROWS):
            in_process(base, rounds * per_round)
    finally:
        server.shutdown()
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
