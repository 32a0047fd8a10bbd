"""The benchmark of what recording a run's world costs runs end to end (``--quick``): each
scenario compares a recording run with a baseline one, and each recorded run really recorded
(the script exits non-zero when a recording run brought no world back, or a baseline run one).
Its timings are never asserted: the machine is shared and noisy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "replay_recording.py"

ROW = r"baseline +[\d.]+ ms +(recording|idle stubs) +[\d.]+ ms +ratio x[\d.]+"


@pytest.mark.slow
def test_benchmark_quick_run_measures_every_scenario() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    scenarios = (
        "no_calls",
        "no_calls_clock",
        "no_calls_unknown",
        "no_calls_unknown_idle",
        "three_calls",
        "three_calls_idle",
        "three_slow",
    )
    for scenario in scenarios:
        assert re.search(rf"^{scenario} +{ROW}", done.stdout, re.M), done.stdout
    assert "session start+stop alone" in done.stdout
    assert "3 requests in-process" in done.stdout
