"""How fast does one execution go through the HTTP API?  A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/execution_latency.py           # full run, about a minute
    .venv/bin/python bench/execution_latency.py --quick   # smoke run, a few seconds; its
                                                          # numbers are too small to mean much

``--quick`` shrinks every section so that each code path runs once;
``tests/bench/test_execution_latency_smoke.py`` runs it. The PASS/MISS column of the summary
is informational, never a test: the script exits 0 whatever the numbers are, and non-zero only
when the benchmark itself could not run (the server did not start, an execution did not
succeed).

Setup
-----
A real ``runtree serve`` is started as a subprocess (uvicorn, the zygote, the local dispatcher
with its default number of worker slots -- one per CPU -- and SQLite in a temporary directory)
on a free loopback port (``--port 0``; the port is read from its "listening on" line). Its log
goes to a file in the temporary directory and is shown if it fails. When the server protects
its API with keys, the first admin key it writes (``RUNTREE_ADMIN_KEY_FILE`` points into the
temporary directory) is sent as ``Authorization: Bearer ...`` -- so the figures include
authentication, as a real client's would. The trivial function

    def add(a: int, b: int) -> int:
        return a + b

is deployed as ``default/add`` and every request is ``POST
/api/v1/functions/default/add/executions`` with ``{"input": {"a": 1, "b": 2}, "wait": true}``;
each response must be a 200 with status ``succeeded`` and output ``3``. The client is httpx in
this process, so it shares the machine's CPUs with the server (as a real client on the same
host would). The server is stopped at the end (SIGINT, then SIGTERM, then SIGKILL of its
process group), also when the benchmark fails or is interrupted.

The machine is shared and noisy, so the baseline is measured in the same run, its rounds
interleaved with runtree's: one ``subprocess.run([sys.executable, "-c", CODE, INPUT])`` per
call, where CODE parses the same JSON input, adds, and prints the JSON result (what "start a
fresh Python per call" costs, the simplest way to run a function in its own process). Compare
runs by the ratios more than by the absolute figures.

What each number means
----------------------
1. Warm-up: deploy, then one cold execution (it starts the zygote and compiles the function:
   shown, not used), 20 sequential and 16 concurrent executions (connections open, caches
   warm). Not measured.

2. Latency: sequential requests on one keep-alive connection, each timed from sending the
   request to having parsed the finished execution (the full wait=true round trip: validate
   input, queue, claim, start a worker, run, store steps and result, answer). Per round: p50,
   p95 and p99 in ms; the figure used is the median over rounds of each percentile (min..max
   of the per-round p50 beside it). Baseline rounds (subprocess.run, sequential) interleave
   with runtree's. Target: runtree p50 <= 10 ms.

3. Throughput: 8 client threads, each with its own keep-alive connection, run a fixed number
   of executions in total as fast as they can; executions/s = that number / wall time from
   the first request to the last answer. Median over rounds (min..max beside it). The same
   for the baseline with 8 threads each calling subprocess.run. Target: runtree >= 100/s.

Summary: the targets with PASS/MISS, and the ratios runtree / baseline (latency: lower is
better; throughput: higher is better).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

HEADERS = {
    1: "== 1. Setup and warm-up ==",
    2: "== 2. Latency: sequential wait=true requests, one keep-alive connection ==",
    3: "== 3. Throughput: 8 concurrent clients ==",
    4: "== Summary ==",
}

NAMESPACE = "default"
NAME = "add"
SOURCE = "def add(a: int, b: int) -> int:\n    return a + b\n"
INPUT = {"a": 1, "b": 2}
EXPECTED = 3
BASELINE_CODE = "import json, sys\nx = json.loads(sys.argv[1])\nprint(json.dumps(x['a'] + x['b']))"

CLIENTS = 8
P50_TARGET_MS = 10.0
THROUGHPUT_TARGET = 100.0
START_TIMEOUT_S = 60.0
LISTENING = re.compile(r"listening on (http://\S+)")


class BenchError(RuntimeError):
    """The benchmark could not run (not a slow result: a broken one)."""


# --- the server ----------------------------------------------------------------------------


def runtree_command() -> list[str]:
    """The ``runtree`` console script of this interpreter's environment (or its module)."""
    script = Path(sys.executable).with_name("runtree")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from runtree.cli import main; main()"]


@contextlib.contextmanager
def running_server(directory: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``runtree serve`` on a free loopback port; yields its base URL and the headers to send
    (an ``Authorization`` header when the server wrote an admin API key); always stops it."""
    log_path = directory / "server.log"
    key_path = directory / "admin-key"
    database = f"sqlite:///{directory / 'runtree.db'}"
    command = [
        *runtree_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--database",
        database,
    ]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "RUNTREE_ADMIN_KEY_FILE": str(key_path)}
    for variable in ("RUNTREE_DATABASE_URL", "RUNTREE_NO_AUTH"):
        env.pop(variable, None)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
            start_new_session=True,
        )
    try:
        base = wait_listening(server, log_path)
        headers = {}
        if key_path.exists():  # a server with access control: its first admin key
            headers["Authorization"] = f"Bearer {key_path.read_text().strip()}"
        yield base, headers
    finally:
        stop_server(server, log_path)


def wait_listening(server: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        found = LISTENING.search(log_path.read_text(errors="replace"))
        if found:
            base = found.group(1)
            with httpx.Client(base_url=base, timeout=5) as client:
                for _ in range(100):
                    with contextlib.suppress(httpx.TransportError):
                        if client.get("/healthz").status_code == 200:
                            return base
                    time.sleep(0.05)
        if server.poll() is not None:
            break
        time.sleep(0.05)
    raise BenchError("runtree serve did not start:\n" + tail(log_path))


def stop_server(server: subprocess.Popen[bytes], log_path: Path) -> None:
    """SIGINT (graceful: uvicorn stops, the dispatcher and the zygote shut down), then
    SIGTERM, then SIGKILL of its process group."""
    for sig, wait in ((signal.SIGINT, 20.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if server.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            if sig == signal.SIGKILL:
                os.killpg(server.pid, sig)
            else:
                server.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(wait)
    if server.returncode not in (0, None):
        print(f"  (server exited with {server.returncode}; log tail:)\n{tail(log_path)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "  (no log)"
    return "\n".join("  | " + line for line in text[-lines:])


# --- one call, both ways -------------------------------------------------------------------


def execute(client: httpx.Client) -> float:
    """One wait=true execution over ``client``; seconds from send to parsed answer."""
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/functions/{NAMESPACE}/{NAME}/executions", json={"input": INPUT, "wait": True}
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchError(f"expected 200, got {response.status_code}: {response.text[:500]}")
    body = response.json()
    if body.get("status") != "succeeded" or body.get("output") != EXPECTED:
        raise BenchError(f"unexpected execution: {json.dumps(body)[:500]}")
    return elapsed


def baseline_call() -> float:
    """One fresh interpreter doing the same work; seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", BASELINE_CODE, json.dumps(INPUT)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or done.stdout.strip() != str(EXPECTED):
        raise BenchError(f"baseline call failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def concurrently(
    count: int,
    clients: int,
    make_worker: Callable[[], Callable[[], Any]],
) -> float:
    """Run ``count`` calls spread over ``clients`` threads; calls per second of wall time.
    ``make_worker`` runs in each thread and returns its call (so each has its own
    connection)."""
    remaining = [count]
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def take() -> bool:
        with lock:
            if remaining[0] <= 0 or errors:
                return False
            remaining[0] -= 1
            return True

    def run() -> None:
        try:
            call = make_worker()
        except BaseException as error:
            errors.append(error)
            call = None
        ready.wait()
        try:
            while call is not None and take():
                call()
        except BaseException as error:
            errors.append(error)
        finally:
            close = getattr(call, "close", None)
            if close is not None:
                close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise BenchError(f"a concurrent call failed: {errors[0]!r}")
    return count / elapsed


def make_client(base: str, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=base, headers=headers, timeout=60)


class _ClientCall:
    """A thread's own keep-alive connection and its call."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.client = make_client(base, headers)

    def __call__(self) -> float:
        return execute(self.client)

    def close(self) -> None:
        self.client.close()


# --- statistics and printing ----------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of ``samples``, in the samples' unit."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(q * len(ordered))))
    return ordered[rank - 1]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def load() -> str:
    with contextlib.suppress(OSError):
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    return "load average unknown"


class Summary:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, target: str, measured: str, result: str) -> None:
        self.rows.append((what, target, measured, result))

    def print(self) -> None:
        header = ("check", "target", "measured", "result")
        widths = [max(len(row[i]) for row in [header, *self.rows]) for i in range(4)]
        for row in [header, *self.rows]:
            print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


# --- sections -------------------------------------------------------------------------------


def section_setup(client: httpx.Client, base: str, headers: dict[str, str], quick: bool) -> None:
    print(HEADERS[1])
    auth = "an admin API key" if headers else "none (the server has no access control)"
    print(f"  server {base} (runtree serve, SQLite, default workers); authentication: {auth}")
    started = time.perf_counter()
    response = client.put(f"/api/v1/functions/{NAMESPACE}/{NAME}", json={"code": SOURCE})
    if response.status_code not in (200, 201):
        raise BenchError(f"deploy failed: {response.status_code} {response.text[:500]}")
    version = response.json().get("number")
    print(
        f"  deployed {NAMESPACE}/{NAME} v{version} "
        f"in {(time.perf_counter() - started) * 1000:.1f} ms"
    )
    first = execute(client)
    print(
        f"  first execution (cold: starts the zygote, compiles the function): {first * 1000:.1f} ms"
    )
    warm = [execute(client) for _ in range(5 if quick else 20)]
    concurrently(CLIENTS * 2, CLIENTS, lambda: _ClientCall(base, headers))
    print(
        f"  warm-up: {len(warm)} sequential (last {warm[-1] * 1000:.1f} ms) and "
        f"{CLIENTS * 2} concurrent executions\n"
    )


def section_latency(client: httpx.Client, quick: bool, summary: Summary) -> float:
    print(HEADERS[2])
    rounds, per_round, baseline_per_round = (2, 10, 3) if quick else (5, 100, 20)
    runtree_rounds: list[list[float]] = []
    baseline_rounds: list[list[float]] = []
    for _ in range(rounds):
        runtree_rounds.append([execute(client) * 1000 for _ in range(per_round)])
        baseline_rounds.append([baseline_call() * 1000 for _ in range(baseline_per_round)])
    print(
        f"  {rounds} rounds, interleaved: {per_round} runtree requests and "
        f"{baseline_per_round} subprocess.run calls per round; ms"
    )
    print(f"  {'variant':<28}  {'p50':>7}  {'p95':>7}  {'p99':>7}  {'p50 min..max':>15}")
    medians: dict[str, float] = {}
    for label, data in (
        ("runtree HTTP wait=true", runtree_rounds),
        ("baseline subprocess.run", baseline_rounds),
    ):
        p50s = [percentile(r, 0.50) for r in data]
        p95 = statistics.median(percentile(r, 0.95) for r in data)
        p99 = statistics.median(percentile(r, 0.99) for r in data)
        p50 = statistics.median(p50s)
        medians[label] = p50
        spread = f"{min(p50s):.2f}..{max(p50s):.2f}"
        print(f"  {label:<28}  {p50:>7.2f}  {p95:>7.2f}  {p99:>7.2f}  {spread:>15}")
    runtree_p50 = medians["runtree HTTP wait=true"]
    ratio = runtree_p50 / medians["baseline subprocess.run"]
    print(f"  runtree / baseline at p50: {ratio:.2f}x\n")
    summary.add(
        "latency p50, HTTP wait=true",
        f"<= {P50_TARGET_MS:g} ms",
        f"{runtree_p50:.2f} ms",
        verdict(runtree_p50 <= P50_TARGET_MS),
    )
    summary.add("  vs subprocess.run per call", "(ratio)", f"{ratio:.2f}x", "")
    return runtree_p50


def section_throughput(base: str, headers: dict[str, str], quick: bool, summary: Summary) -> float:
    print(HEADERS[3])
    rounds, count, baseline_count = (1, 24, 8) if quick else (3, 400, 80)
    runtree: list[float] = []
    baseline: list[float] = []
    for _ in range(rounds):
        runtree.append(concurrently(count, CLIENTS, lambda: _ClientCall(base, headers)))
        baseline.append(concurrently(baseline_count, CLIENTS, lambda: baseline_call))
    print(
        f"  {rounds} round(s), interleaved: {count} runtree executions and "
        f"{baseline_count} subprocess.run calls per round, {CLIENTS} client threads"
    )
    print(f"  {'variant':<28}  {'per s':>8}  {'min..max':>15}")
    for label, data in (("runtree HTTP wait=true", runtree), ("baseline subprocess.run", baseline)):
        spread = f"{min(data):.1f}..{max(data):.1f}"
        print(f"  {label:<28}  {statistics.median(data):>8.1f}  {spread:>15}")
    rate = statistics.median(runtree)
    ratio = rate / statistics.median(baseline)
    print(f"  runtree / baseline: {ratio:.2f}x\n")
    summary.add(
        f"throughput, {CLIENTS} clients",
        f">= {THROUGHPUT_TARGET:g} /s",
        f"{rate:.1f} /s",
        verdict(rate >= THROUGHPUT_TARGET),
    )
    summary.add("  vs subprocess.run per call", "(ratio)", f"{ratio:.2f}x", "")
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (tiny sizes)")
    args = parser.parse_args(argv)
    print(
        "runtree execution latency benchmark"
        + (" (--quick: smoke run, numbers are not meaningful)" if args.quick else "")
    )
    print(
        f"  Python {platform.python_version()}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs, {load()}\n"
    )
    summary = Summary()
    started = time.perf_counter()
    try:
        with (
            tempfile.TemporaryDirectory(prefix="runtree-bench-") as tmp,
            running_server(Path(tmp)) as (base, headers),
            make_client(base, headers) as client,
        ):
            section_setup(client, base, headers, args.quick)
            section_latency(client, args.quick, summary)
            section_throughput(base, headers, args.quick, summary)
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    print(HEADERS[4])
    summary.print()
    print(
        f"\n  (informational only; {load()}; total run time {time.perf_counter() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
