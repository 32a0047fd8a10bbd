"""The comparison benchmark runs end to end (``--quick``). Its timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "compare_trees.py"


@pytest.mark.slow
def test_compare_benchmark_quick_run_prints_every_scenario() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for scenario in ("loop", "recursion", "wide tree", "unrelated", "== Summary =="):
        assert scenario in done.stdout, done.stdout
