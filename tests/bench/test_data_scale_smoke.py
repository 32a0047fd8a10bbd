"""The data-scale benchmark runs end to end (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "data_scale.py"


def test_data_scale_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "search key=value" in done.stdout
    assert "bytes/step" in done.stdout
    assert "open 500: bytes on wire" in done.stdout
