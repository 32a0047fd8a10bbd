"""Several workers on one host never share a slot uid, whatever their state directories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtree.execution.sandbox.config import SandboxConfig
from runtree.execution.sandbox.slots import Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="slot uids need root")

HOLD = """
import sys
from runtree.execution.sandbox.config import SandboxConfig
from runtree.execution.sandbox.slots import Sandbox
sandbox = Sandbox.probe(SandboxConfig(state_dir=sys.argv[1]))
assert sandbox.separates_uids, sandbox.report.summary
sandbox.reserve(3)
print(" ".join(str(slot.uid) for slot in sandbox._slots), flush=True)
sys.stdin.read()  # hold the uids until the test closes our stdin
"""


def test_workers_with_their_own_state_directories_hold_disjoint_slot_uids(
    tmp_path: Path,
) -> None:
    holders = [
        subprocess.Popen(
            [sys.executable, "-c", HOLD, str(tmp_path / f"state-{n}")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    try:
        held = []
        for holder in holders:
            assert holder.stdout is not None
            line = holder.stdout.readline()
            assert line, "the holder process failed"
            held.append({int(uid) for uid in line.split()})
        assert len(held[0]) == 3 and len(held[1]) == 3
        assert not held[0] & held[1]
        # This process, with a third state directory, gets none of theirs either.
        here = Sandbox.probe(SandboxConfig(state_dir=str(tmp_path / "state-here")))
        try:
            here.reserve(2)
            mine = {slot.uid for slot in here._slots}
            assert len(mine) == 2 and not mine & (held[0] | held[1])
        finally:
            here.close()
    finally:
        for holder in holders:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(30)
