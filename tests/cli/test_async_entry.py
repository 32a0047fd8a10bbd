"""An ``async def`` entry point through the CLI on a database: deploy says how it runs, ``run``
awaits it and shows its tree."""

from __future__ import annotations

import json
import pathlib

import pytest

from .conftest import Cli

pytestmark = pytest.mark.slow

GATHER_SQUARES = '''\
import asyncio

async def square(i):
    await asyncio.sleep(0.01)
    return i * i

async def gather_squares(n: int):
    """Squares of 0..n-1, computed concurrently."""
    return await asyncio.gather(*(square(i) for i in range(n)))
'''


def test_an_async_entry_point_is_awaited_and_recorded(cli: Cli, tmp_path: pathlib.Path) -> None:
    source = tmp_path / "gather_squares.py"
    source.write_text(GATHER_SQUARES)
    deployed = cli("deploy", str(source))
    assert deployed.exit_code == 0, deployed
    assert deployed.stdout == (
        "default/gather_squares: v1 (new)\n"
        "  async gather_squares(n: int): each run awaits it on an event loop of its own\n"
    )
    ran = cli("run", "gather_squares", "-a", "n=3")
    assert ran.exit_code == 0, ran
    assert "Execution: gather_squares\n├─ Step: square (completed" in ran.stdout
    assert ran.stdout.count("Step: square (completed") == 3
    assert "coroutine" not in ran.stdout
    document = json.loads(cli("run", "gather_squares", "-a", "n=4", "--json").stdout)
    assert document["status"] == "succeeded"
    assert document["output"] == [0, 1, 4, 9]
    assert len(document["steps"]) == 5


def test_a_failing_async_entry_point_shows_its_failing_path(
    cli: Cli, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "check_all.py"
    source.write_text(
        "import asyncio\n"
        "async def check(i):\n"
        "    await asyncio.sleep(0)\n"
        "    if i == 1:\n"
        "        raise ValueError('item 1 is bad')\n"
        "async def check_all():\n"
        "    await asyncio.gather(check(0), check(1))\n"
    )
    assert cli("deploy", str(source)).exit_code == 0
    ran = cli("run", "check_all")
    assert ran.exit_code == 1, ran
    assert "Error: ValueError: item 1 is bad" in ran.stdout
    assert "Failing path: check_all → check" in ran.stdout
