"""The CLI start-up benchmark runs end to end (``--quick``); its timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "cli_startup.py"


@pytest.mark.slow
def test_benchmark_quick_run_completes() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "runtree --help" in done.stdout and "runtree show ID (local)" in done.stdout
