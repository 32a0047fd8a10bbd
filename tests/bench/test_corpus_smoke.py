"""The corpus benchmark's harness, on a small package written here (no download): each mode
runs every doctest, the instrumented one inside a recording. Timings are never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "corpus.py"

MODULE = '''
def double(x):
    """
    >>> double(2)
    4
    >>> [double(i) for i in range(3)]
    [0, 2, 4]
    """
    return helper(x) * 2


def helper(x):
    """
    >>> helper(5)
    5
    """
    return x
'''


def _child(mode: str, root: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--child", mode, "--root", str(root), "--package", "tinypkg"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_both_modes_run_every_doctest_and_the_instrumented_one_records(tmp_path: Path) -> None:
    package = tmp_path / "tinypkg"
    package.mkdir()
    (package / "__init__.py").write_text("from .core import double\n")
    (package / "core.py").write_text(MODULE)
    plain = _child("plain", tmp_path)
    instrumented = _child("instrumented", tmp_path)
    for result in (plain, instrumented):
        assert result["failed"] == {} and result["import_errors"] == {}
        assert result["modules"]["tinypkg.core"]["examples"] == 3  # type: ignore[index]
    assert "steps" not in plain
    assert instrumented["steps"] == 9 and instrumented["internal_errors"] == []
