"""The OpenTelemetry export benchmark runs end to end (``--quick``): both servers answer,
every trace of the exporting one arrives whole. Its timings are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "otlp_export.py"


@pytest.mark.slow
def test_benchmark_quick_run_completes_and_prints_every_section() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    for number in range(1, 5):
        assert f"== {number}. " in done.stdout or (number == 4 and "== Summary ==" in done.stdout)
    assert "traces of 6 spans each received" in done.stdout
