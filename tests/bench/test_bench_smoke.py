"""The overhead benchmark runs end to end (``--quick``). Its timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "tracking_overhead.py"

SECTION_HEADERS = [
    "== 1. Tiny function f(a, b): CPU ns per call ==",
    "== 2. Parent with 100 children: time per parent call ==",
    "== 3. Recursive run: walk(n) with the default step_budget ==",
    "== 4. Large argument capture (default 64 KiB value budget) ==",
    "== Summary ==",
]


@pytest.mark.slow
def test_benchmark_quick_run_completes_and_prints_every_section() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for header in SECTION_HEADERS:
        assert header in done.stdout, f"missing {header!r} in:\n{done.stdout}"
