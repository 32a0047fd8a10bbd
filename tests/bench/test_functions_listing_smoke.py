"""The functions-listing benchmark runs (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "functions_listing.py"


def test_functions_listing_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "fib's step_count = 10,000" in done.stdout
    assert "ms with step counts" in done.stdout
