"""The benchmark of what forking a run costs from each kind of zygote runs end to end
(``--quick``) and measures every kind and every library it lists. Its timings are never
asserted: the machine is shared and noisy."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "zygote_fork.py"


@pytest.mark.slow
def test_benchmark_quick_run_measures_every_zygote_and_library() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    for kind in ("none", "local", "http"):
        row = rf"^{kind} +anon +[\d.]+ MB in \d+ mappings: fork\+reap +[\d.]+ us wall"
        assert re.search(row, done.stdout, re.M), done.stdout
    for library in ("requests", "httpx", "vcr"):
        assert re.search(rf"^  {re.escape(library)} +[\d.]+ MB", done.stdout, re.M), done.stdout
    # the HTTP zygote holds more than the one that holds nothing of the world
    sizes = dict(re.findall(r"^(none|http) +anon +([\d.]+) MB", done.stdout, re.M))
    assert float(sizes["http"]) > float(sizes["none"])
