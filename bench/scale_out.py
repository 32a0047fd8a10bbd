"""Scale-out: a warm execution's API -> result latency and executions/s, through the
Procrastinate queue with 1, 2 and 3 `runtree worker` processes, beside the embedded SQLite
path and today's direct PostgreSQL path (the executions table as the queue), in one run.

    .venv/bin/python bench/scale_out.py            # a few minutes
    .venv/bin/python bench/scale_out.py --quick    # smoke run; numbers too small to mean much

Every configuration gets a fresh database and its own processes, then: deploy ``add(a, b)``
and ``steps(n)`` (n calls of a helper: n + 1 steps); warm up (20 sequential, 16 concurrent);
**latency**: sequential ``POST /api/v1/functions/default/add/executions`` with ``wait: true``
on one keep-alive connection, p50/p95 per round, the median over rounds; **throughput**: 8
client threads, a fixed number of executions, executions/s = count / wall time, median over
rounds; **steps/s**: 3 client threads run ``steps(2000)`` executions, steps written per second
of wall time (the store absorbing them); **where the time goes**: each latency run's own
timestamps split it into queued -> claimed, claimed -> ended and the API's share (medians).
Rounds of each configuration run back to back; the
machine is shared and noisy: compare the ratios to the SQLite path printed beside them, and
read the load average printed with each configuration.

Configurations (2 slots each process that runs executions; the machine has 2 cores):
``sqlite``: `runtree serve --workers 2`, SQLite. ``pg-direct``: the server's own
LocalDispatcher claiming from the executions table on PostgreSQL (the path before the queue;
``Store(job_queue=False)`` in a child process). ``queue-K``: `runtree serve --workers 0` (API
only) and K `runtree worker --slots 2` processes. Exits 0 whatever the numbers; non-zero only
if the benchmark could not run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("RUNTREE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADD = "def add(a: int, b: int) -> int:\n    return a + b\n"
STEPS = """\
def one(i):
    return i

def steps(n: int) -> int:
    total = 0
    for i in range(n):
        total += one(i)
    return total
"""
DIRECT_SERVER = """
import sys, uvicorn
from runtree.api.app import create_app
from runtree.settings import Settings
from runtree.store import Store
url, port = sys.argv[1], int(sys.argv[2])
settings = Settings.load(database_url=url, port=port, workers=2, auth=False)
store = Store(url, job_queue=False)
uvicorn.run(create_app(settings, store=store), host="127.0.0.1", port=port, log_level="warning")
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Config:
    """One configuration's processes and database."""

    def __init__(self, name: str, workers: int, directory: Path) -> None:
        self.name = name
        self.workers = workers
        self.directory = directory
        self.port = free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.database = ""
        self.state_dirs: list[Path] = []

    def start(self) -> None:
        env = {**os.environ, "RUNTREE_NO_AUTH": "1"}
        if self.name == "sqlite":
            self.database = f"sqlite:///{self.directory / 'runtree.db'}"
        else:
            name = f"runtree_bench_{secrets.token_hex(5)}"
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            self.database = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        python = [sys.executable]
        if self.name == "pg-direct":
            self.spawn([*python, "-c", DIRECT_SERVER, self.database, str(self.port)], env)
        else:
            serve_slots = "2" if self.name in ("sqlite",) else "0"
            self.spawn(
                [
                    *python,
                    "-m",
                    "runtree",
                    "serve",
                    "--no-auth",
                    "--port",
                    str(self.port),
                    "--workers",
                    serve_slots,
                    "--database",
                    self.database,
                ],
                env,
            )
        self.wait_healthy()
        for _ in range(self.workers):
            state = Path(tempfile.mkdtemp(prefix="runtree-bench-", dir="/var/tmp"))
            state.chmod(0o711)
            self.state_dirs.append(state)
            self.spawn(
                [*python, "-m", "runtree", "worker", "--slots", "2", "--database", self.database],
                {**env, "RUNTREE_SANDBOX_DIR": str(state)},
            )
        if self.workers:
            self.wait_workers()

    def spawn(self, command: list[str], env: dict[str, str]) -> None:
        log = open(self.directory / f"process-{len(self.processes)}.log", "wb")  # noqa: SIM115
        self.processes.append(
            subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                cwd=ROOT,
            )
        )

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.processes[0].poll() is not None:
                break
            time.sleep(0.2)
        raise SystemExit(f"{self.name}: the server did not start; see {self.directory}")

    def wait_workers(self) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            out = subprocess.run(
                [sys.executable, "-m", "runtree", "workers", "--json", "--database", self.database],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            if out.returncode == 0 and out.stdout.count('"kind": "worker"') >= self.workers:
                return
            time.sleep(1)
        raise SystemExit(f"{self.name}: the workers did not register; see {self.directory}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if self.name != "sqlite" and self.database:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                name = self.database.rsplit("/", 1)[1]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for state in self.state_dirs:
            subprocess.run(["rm", "-rf", str(state)], check=False)


def run_one(client: httpx.Client, name: str, data: dict[str, int]) -> dict[str, object]:
    started = time.perf_counter()
    response = client.post(
        f"/functions/default/{name}/executions",
        json={"input": data, "wait": True, "timeout_s": 120},
    )
    body: dict[str, object] = response.json()
    if response.status_code != 200 or body.get("status") != "succeeded":
        waited = time.perf_counter() - started
        now = client.get(f"/executions/{body.get('id')}").json() if "id" in body else None
        raise RuntimeError(
            f"execution failed: {response.status_code} {body} after {waited:.1f} s; now {now}"
        )
    return body


def measure(config: Config, quick: bool) -> dict[str, float]:
    base = f"http://127.0.0.1:{config.port}/api/v1"
    with httpx.Client(base_url=base, timeout=180) as client:
        for name, source in (("add", ADD), ("steps", STEPS)):
            response = client.put(f"/functions/default/{name}", json={"code": source})
            assert response.status_code in (200, 201), response.text
        warm = 3 if quick else 20
        for _ in range(warm):
            run_one(client, "add", {"a": 1, "b": 2})
        p50s, p95s = [], []
        parts: dict[str, list[float]] = {"wait": [], "run": [], "api": []}
        for _ in range(1 if quick else 3):
            times = []
            for _ in range(5 if quick else 40):
                start = time.perf_counter()
                body = run_one(client, "add", {"a": 1, "b": 2})
                total = (time.perf_counter() - start) * 1000
                times.append(total)
                for name, value in where_the_time_goes(body, total).items():
                    parts[name].append(value)
            times.sort()
            p50s.append(statistics.median(times))
            p95s.append(times[int(len(times) * 0.95) - 1 if len(times) > 1 else 0])
    count = 16 if quick else 200
    rates = []
    for _ in range(1 if quick else 2):
        rates.append(count / timed_parallel(base, 8, count, "add", {"a": 1, "b": 2}))
    n_steps = 200 if quick else 2000
    runs = 3 if quick else 12
    seconds = timed_parallel(base, 3, runs, "steps", {"n": n_steps})
    return {
        **{f"{name}_ms": statistics.median(values) for name, values in parts.items()},
        "p50": statistics.median(p50s),
        "p95": statistics.median(p95s),
        "rate": statistics.median(rates),
        "steps_per_s": runs * (n_steps + 1) / seconds,
        "load": os.getloadavg()[0],
    }


def where_the_time_goes(body: dict[str, object], total_ms: float) -> dict[str, float]:
    """One execution's latency in three parts, from its own timestamps (one host, one
    clock): ``wait``, queued until claimed (the queue's wake-up and the claim); ``run``,
    claimed until ended (fork, run, storing steps and the end); ``api``, the rest (the
    request, the enqueue transaction, the wake-up of the waiting request, the answer)."""

    def moment(key: str) -> datetime.datetime:
        return datetime.datetime.fromisoformat(str(body[key]).replace("Z", "+00:00"))

    wait = (moment("started_at") - moment("queued_at")).total_seconds() * 1000
    run = (moment("finished_at") - moment("started_at")).total_seconds() * 1000
    return {"wait": wait, "run": run, "api": total_ms - wait - run}


def timed_parallel(base: str, threads: int, count: int, name: str, data: dict[str, int]) -> float:
    clients = [httpx.Client(base_url=base, timeout=300) for _ in range(threads)]
    try:
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(run_one, clients[i % threads], name, data) for i in range(count)]
            for future in futures:
                future.result()
        return time.perf_counter() - start
    finally:
        for client in clients:
            client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="configurations to run (default: all)")
    args = parser.parse_args()
    names = [("sqlite", 0), ("pg-direct", 0), ("queue-1", 1), ("queue-2", 2), ("queue-3", 3)]
    if args.only:
        names = [n for n in names if n[0] in args.only]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="runtree-scale-", dir="/var/tmp") as tmp:
        os.chmod(tmp, 0o711)
        for name, workers in names:
            directory = Path(tmp) / name
            directory.mkdir()
            config = Config(name, workers, directory)
            try:
                config.start()
                results[name] = measure(config, args.quick)
            except Exception:
                for log in sorted(directory.glob("*.log")):
                    print(f"--- {log}\n{log.read_text()[-3000:]}", file=sys.stderr)
                raise
            finally:
                config.stop()
            r = results[name]
            print(
                f"{name:10} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  "
                f"{r['rate']:6.1f} exec/s  {r['steps_per_s']:8.0f} steps/s  "
                f"(load {r['load']:.1f})  p50 parts: queued->claimed {r['wait_ms']:.1f} ms, "
                f"claimed->ended {r['run_ms']:.1f} ms, API {r['api_ms']:.1f} ms",
                flush=True,
            )
    base = results.get("sqlite")
    if base:
        print("\nratios to the SQLite embedded path (latency: lower is better; rates: higher)")
        for name, r in results.items():
            print(
                f"{name:10} p50 {r['p50'] / base['p50']:5.2f}x  "
                f"exec/s {r['rate'] / base['rate']:5.2f}x  "
                f"steps/s {r['steps_per_s'] / base['steps_per_s']:5.2f}x"
            )
    queue = results.get("queue-1")
    if queue:
        verdict = "PASS" if queue["p50"] <= 20 else "MISS"
        print(f"\ntarget: through the queue, warm p50 <= 20 ms: {queue['p50']:.1f} ms {verdict}")


if __name__ == "__main__":
    main()
