"""The store CPU benchmark runs (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "store_cpu.py"


def test_store_cpu_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "sqlite: CPU ms per call" in done.stdout
    for name in ("enqueue", "claim", "finish"):
        assert f"  {name} " in done.stdout
