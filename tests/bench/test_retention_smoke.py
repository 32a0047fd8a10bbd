"""The retention benchmark runs (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "retention.py"


@pytest.mark.slow
def test_retention_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "pruned 20 executions, 2,000 steps" in done.stdout
    assert "while pruning vs" in done.stdout
