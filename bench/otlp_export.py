"""What the OpenTelemetry export costs. A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/otlp_export.py           # full run, about two minutes
    .venv/bin/python bench/otlp_export.py --quick   # smoke run; its numbers mean little

A receiver in this process (``POST /v1/traces`` on a free loopback port, answering 200 at
once) stands in for the collector; requests are decoded only at the end, to check them.

1. An execution's end. What the runner's thread pays when an execution ends with the export
   on: ``TraceExporter.submit`` (a lock, an append, waking the export thread, which then
   exports a 5-step execution to the receiver), each call made while that thread is idle,
   as at a real end. The baseline, timed right before each call, is ``Metrics.finished`` --
   the Prometheus update every end already pays. Medians and p90 of single calls.

2. End to end. Two real ``runtree serve`` processes (SQLite, access control, the sandbox as
   this host allows), one with ``RUNTREE_OTLP_ENDPOINT`` pointing at the receiver and one
   without, both running the orders example (``calculate_order_total``, 5 steps) with
   sequential ``wait=true`` requests, rounds interleaved; p50 per round, the median over
   rounds, and the difference. This includes the export thread's work competing for the CPUs
   (on 2 cores it does). At the end every execution of the exporting server must have
   arrived whole (6 spans each).

3. The export thread. One 10,000-step execution (the step budget) turned into spans
   (``execution_spans``) and the whole export (read from a stub store, build, encode, send
   in requests of 512 spans), against the Chrome trace file of the same steps
   (``export_trace(..., CHROME)``, what the download button computes) as the baseline.
   Median of rounds.

The machine is shared and noisy: compare the ratios more than the absolute figures. Exits 0
whatever the numbers; non-zero only when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execution_latency import load, percentile, running_server
from runtree.models import ExecutionRecord, StepRecord
from runtree.service.metrics import Metrics
from runtree.service.otel_export import TraceExporter
from runtree.service.otel_trace import default_resource, execution_spans
from runtree.service.trace_files import TraceFormat, export_trace

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "orders"
# The stub records of tests/otlp (plain dataclasses, nothing of pytest).
sys.path.insert(0, str(ROOT))
from tests.otlp.records import FakeStore, execution, step  # noqa: E402

HEADERS = {
    1: "== 1. An execution's end: TraceExporter.submit vs Metrics.finished ==",
    2: "== 2. End to end: runtree serve with and without the export ==",
    3: "== 3. The export thread: one 10,000-step execution ==",
    4: "== Summary ==",
}


class BenchError(RuntimeError):
    """The benchmark could not run."""


class Receiver:
    """A collector that answers 200 at once and keeps the request bodies."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a collector does

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def spans_by_trace(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for body in list(self.bodies):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        key = span.trace_id.hex()
                        found[key] = found.get(key, 0) + 1
        return found


def five_steps(execution_id: str) -> tuple[ExecutionRecord, list[StepRecord]]:
    ms = 1_000_000
    preview = {"preview": {"id": 42, "name": "Ada", "tier": "gold"}}
    steps = [step(1, None, 0, 40 * ms, execution_id=execution_id, inputs={"x": preview})]
    steps += [
        step(n, 1, n * ms, ms, execution_id=execution_id, inputs={"x": preview}, output=preview)
        for n in range(2, 6)
    ]
    return execution(execution_id), steps


# --- 1. an execution's end ----------------------------------------------------------------


def section_end(receiver: Receiver, quick: bool) -> tuple[float, float]:
    print(HEADERS[1])
    rounds, calls = (2, 50) if quick else (5, 400)
    store = FakeStore()
    records = []
    for n in range(calls):
        record, steps = five_steps(f"{n + 1:032x}")
        records.append(store.add(record, steps))
    exporter = TraceExporter(
        store,  # type: ignore[arg-type]
        endpoint=f"{receiver.url}/v1/traces",
        backlog=1_000_000,
        resource=default_resource(),
    )
    exporter.start()
    metrics = Metrics(store)  # type: ignore[arg-type]
    submit_ns: list[int] = []
    finished_ns: list[int] = []
    clock = time.perf_counter_ns
    try:
        for _ in range(rounds):
            for record in records:
                # As at a real execution's end: the export thread is idle, waiting for work.
                if not exporter.flush(60):
                    raise BenchError("the export thread did not catch up")
                started = clock()
                metrics.finished(record)
                middle = clock()
                exporter.submit(record)
                ended = clock()
                finished_ns.append(middle - started)
                submit_ns.append(ended - middle)
    finally:
        exporter.close()
    submit, finished = statistics.median(submit_ns), statistics.median(finished_ns)
    print(f"  {rounds * calls} calls of each, one after the other; ns per call")
    print(f"  {'':<32} {'median':>9}  {'p90':>9}")
    for label, data in (
        ("Metrics.finished (baseline)", finished_ns),
        ("TraceExporter.submit", submit_ns),
    ):
        print(f"  {label:<32} {statistics.median(data):>9.0f}  {percentile(data, 0.9):>9.0f}")
    print(f"  submit / Metrics.finished at the median: {submit / finished:.2f}x\n")
    return submit, finished


# --- 2. end to end ----------------------------------------------------------------------------


def deploy_orders(client: httpx.Client) -> None:
    for path in sorted(EXAMPLES.glob("*.py")):
        response = client.put(
            f"/api/v1/functions/default/{path.stem}", json={"code": path.read_text()}
        )
        if response.status_code not in (200, 201):
            raise BenchError(f"deploy failed: {response.status_code} {response.text[:300]}")


def order(client: httpx.Client) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.post(
        "/api/v1/functions/default/calculate_order_total/executions",
        json={"input": {"customer_id": 42}, "wait": True},
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("status") != "succeeded":
        raise BenchError(f"unexpected execution: {response.status_code} {response.text[:300]}")
    return elapsed * 1000, str(body["id"])


@contextmanager
def server(directory: Path, endpoint: str | None) -> Iterator[httpx.Client]:
    previous = os.environ.pop("RUNTREE_OTLP_ENDPOINT", None)
    if endpoint is not None:
        os.environ["RUNTREE_OTLP_ENDPOINT"] = endpoint
    try:
        with running_server(directory) as (base, headers):
            os.environ.pop("RUNTREE_OTLP_ENDPOINT", None)
            with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
                yield client
    finally:
        if previous is not None:
            os.environ["RUNTREE_OTLP_ENDPOINT"] = previous


def section_end_to_end(receiver: Receiver, quick: bool) -> tuple[float, float]:
    print(HEADERS[2])
    rounds, per_round = (2, 5) if quick else (9, 40)
    exported_ids: list[str] = []
    p50s: dict[str, list[float]] = {"without export": [], "with export": []}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="runtree-bench-")))
        (tmp / "plain").mkdir()
        (tmp / "otlp").mkdir()
        plain = stack.enter_context(server(tmp / "plain", None))
        exporting = stack.enter_context(server(tmp / "otlp", receiver.url))
        clients = {"without export": plain, "with export": exporting}
        for client in clients.values():
            deploy_orders(client)
            for _ in range(3 if quick else 20):  # warm-up: zygote, compile, caches
                order(client)
        for number in range(rounds):
            labels = list(clients) if number % 2 == 0 else list(reversed(clients))
            for label in labels:
                times = []
                for _ in range(per_round):
                    elapsed, execution_id = order(clients[label])
                    times.append(elapsed)
                    if label == "with export":
                        exported_ids.append(execution_id)
                p50s[label].append(percentile(times, 0.5))
    # Every execution of the exporting server arrived whole (the server flushed on stop).
    arrived = receiver.spans_by_trace()
    missing = [i for i in exported_ids if arrived.get(i) != 6]
    if missing:
        raise BenchError(f"{len(missing)} of {len(exported_ids)} traces did not arrive whole")
    print(
        f"  {rounds} rounds of {per_round} sequential wait=true executions per server, interleaved"
    )
    print(f"  {'server':<18} {'p50 ms':>8}  {'per-round p50 min..max':>24}")
    for label, values in p50s.items():
        spread = f"{min(values):.2f}..{max(values):.2f}"
        print(f"  {label:<18} {statistics.median(values):>8.2f}  {spread:>24}")
    without = statistics.median(p50s["without export"])
    with_export = statistics.median(p50s["with export"])
    print(
        f"  added at p50: {with_export - without:+.2f} ms ({with_export / without:.2f}x); "
        f"{len(exported_ids)} traces of 6 spans each received\n"
    )
    return without, with_export


# --- 3. the export thread ---------------------------------------------------------------------


def section_thread(receiver: Receiver, quick: bool) -> tuple[float, float, float]:
    print(HEADERS[3])
    rounds, count = (2, 1000) if quick else (7, 10_000)
    execution_id = "e" * 32
    preview = {"preview": [1, 2, 3]}
    steps = [step(1, None, 0, 10**9, execution_id=execution_id)]
    steps += [
        step(n, 1 + (n - 2) // 100, n * 1000, 500, execution_id=execution_id, inputs={"n": preview})
        for n in range(2, count + 1)
    ]
    record = execution(execution_id)
    store = FakeStore()
    store.add(record, steps)
    resource = default_resource()
    exporter = TraceExporter(
        store,  # type: ignore[arg-type]
        endpoint=f"{receiver.url}/v1/traces",
        resource=resource,
    )
    chrome_ms, build_ms, export_ms = [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        export_trace(record, steps, TraceFormat.CHROME)
        chrome_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        execution_spans(record, steps, resource)
        build_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        exporter._export([execution_id])  # the thread's whole job for one execution
        export_ms.append((time.perf_counter() - started) * 1000)
    exporter.close()
    chrome, build, export = (statistics.median(x) for x in (chrome_ms, build_ms, export_ms))
    print(f"  {count:,} steps, {rounds} rounds, medians")
    print(f"  {'Chrome trace file (baseline)':<34} {chrome:>9.1f} ms")
    print(f"  {'execution_spans (build)':<34} {build:>9.1f} ms   ({build / chrome:.2f}x)")
    print(
        f"  {'whole export (build, encode, send)':<34} {export:>9.1f} ms   "
        f"({export / chrome:.2f}x; {count / export * 1000:,.0f} spans/s)\n"
    )
    return chrome, build, export


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (tiny sizes)")
    args = parser.parse_args(argv)
    print("runtree OpenTelemetry export benchmark" + (" (--quick)" if args.quick else ""))
    print(f"  Python {platform.python_version()}, {os.cpu_count()} CPUs, {load()}\n")
    receiver = Receiver()
    try:
        submit, finished = section_end(receiver, args.quick)
        without, with_export = section_end_to_end(receiver, args.quick)
        chrome, _, export = section_thread(receiver, args.quick)
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        receiver.close()
    print(HEADERS[4])
    print(f"  execution end pays: {submit:.0f} ns ({submit / finished:.2f}x Metrics.finished)")
    print(
        f"  end to end p50: {without:.2f} -> {with_export:.2f} ms ({with_export - without:+.2f} ms)"
    )
    print(
        f"  export thread, 10,000-step run: {export:.0f} ms ({export / chrome:.2f}x a Chrome trace)"
    )
    print(f"  {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
