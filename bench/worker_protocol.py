"""What does checking the worker protocol cost the server?  A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/worker_protocol.py           # full run, a few seconds
    .venv/bin/python bench/worker_protocol.py --quick   # smoke run

Informational: it exits 0 whatever the numbers are.

Every line a worker sends is parsed and checked by the supervisor
(:func:`runtree.execution.protocol.parse_message`: JSON, then strict pydantic models and the
job's limits). The baseline, measured in the same run and interleaved with it, is what the
supervisor did before the checks: ``json.loads`` of the same line. Two messages, as a real
worker sends them: the result of a one-step run (the common, short execution) and a full
batch of 200 steps (each with one captured input, with its serialized copy, and an output).
Figures are medians of rounds of calls, in microseconds per message and per step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from runtree.execution.job import FunctionSource, Job
from runtree.execution.protocol import parse_message
from runtree.execution.worker import _json_default

JOB = Job("bench", "default", "main", {"main": FunctionSource("def main():\n    pass\n", 1)})


def value(preview: Any) -> dict[str, Any]:
    return {
        "preview": preview,
        "size": 24,
        "format": "pickle",
        "truncated": False,
        "redacted": False,
        "blob": b"\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94.",
    }


def step(step_id: int) -> dict[str, Any]:
    return {
        "id": step_id,
        "parent_id": None if step_id == 1 else 1,
        "sequence": step_id,
        "depth": 0 if step_id == 1 else 1,
        "name": "helper",
        "filename": "default/main.py",
        "lineno": 3,
        "version": 1,
        "status": "completed",
        "started_at_ns": 1_700_000_000_000,
        "duration_ns": 1200,
        "inputs": {"order": value({"id": step_id, "items": [1, 2, 3]})},
        "output": value(step_id * 2),
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
        "function": "default/main",
    }


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message, default=_json_default, allow_nan=False).encode()


def measure(data: bytes, calls: int, rounds: int) -> tuple[float, float]:
    checked: list[float] = []
    baseline: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            json.loads(data)
        baseline.append((time.perf_counter() - start) / calls * 1e6)
        start = time.perf_counter()
        for _ in range(calls):
            parse_message(data, JOB)
        checked.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(checked), statistics.median(baseline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    args = parser.parse_args()
    rounds = 3 if args.quick else 15
    result = line(
        {
            "type": "result",
            "status": "succeeded",
            "output": value(42),
            "stdout": "",
            "stdout_truncated": False,
            "steps": [step(1)],
        }
    )
    batch = line({"type": "steps", "steps": [step(i) for i in range(1, 201)]})
    print(f"worker protocol: parse_message vs json.loads alone (medians of {rounds} rounds)")
    for name, data, calls, steps in (
        ("result of a 1-step run", result, 200, 1),
        ("batch of 200 steps", batch, 5, 200),
    ):
        checked, baseline = measure(data, calls if not args.quick else 2, rounds)
        print(
            f"  {name:<24} {len(data):>7} bytes: {checked:9.1f} us "
            f"({checked / steps:6.1f} us a step) vs {baseline:8.1f} us: "
            f"{checked / baseline:4.1f}x, +{(checked - baseline) / steps:5.1f} us a step"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
