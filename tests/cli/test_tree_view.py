"""How much of a tree ``run`` and ``show`` print: all of a small one, a summary and the top of
a large one, the failing path always; ``--depth``, ``--full``, ``--no-tree``."""

from __future__ import annotations

import datetime
import io
import pathlib
import re

import pytest
from rich.console import Console

from runtree.cli.errors import CliError
from runtree.cli.tree_view import LARGE_TREE, TreeOptions, TreeShape, tree_lines, tree_options
from runtree.cli.views import print_execution
from runtree.models import ExecutionRecord, ExecutionStatus, StepRecord, Trigger

from .conftest import Cli
from .test_render import step


def plain(steps: list[StepRecord], options: TreeOptions | None = None) -> list[str]:
    return [line.plain for line in tree_lines(steps, options)]


def chain(length: int, failing: bool = False) -> list[StepRecord]:
    """A recursion ``length`` steps deep; the innermost one failed (and so its callers)."""
    status = "failed" if failing else "completed"
    return [step(i, i - 1 if i > 1 else None, "recurse", status) for i in range(1, length + 1)]


def wide(count: int, failing_at: int | None = None) -> list[StepRecord]:
    """A root calling ``check`` ``count`` times; the ``failing_at``-th call failed."""
    root_status = "failed" if failing_at is not None else "completed"
    return [step(1, None, "loop", root_status)] + [
        step(i + 2, 1, "check", "failed" if i == failing_at else "completed") for i in range(count)
    ]


def test_a_small_tree_is_shown_whole_and_depth_cuts_it_with_counts() -> None:
    steps = chain(5)
    assert len(plain(steps, TreeOptions())) == 5
    cut = plain(steps, TreeOptions(depth=2))
    assert cut[0] == "Execution: recurse"
    assert cut[1].startswith("└─ Step: recurse (completed")
    assert cut[2].startswith("   └─ Step: recurse (completed")
    assert cut[2].endswith(" … 2 steps below")
    assert len(cut) == 3


def test_a_large_tree_shows_its_top_levels_and_counts_the_rest() -> None:
    steps = chain(LARGE_TREE + 40)
    lines = plain(steps, TreeOptions())
    assert len(lines) == 4  # the root and three levels under it
    assert lines[-1].endswith(f" … {LARGE_TREE + 36} steps below")
    assert len(plain(steps, TreeOptions(full=True))) == LARGE_TREE + 40
    assert len(plain(steps, TreeOptions(depth=10))) == 11


def test_the_failing_path_is_always_shown_however_deep() -> None:
    steps = chain(LARGE_TREE + 40, failing=True)
    assert len(plain(steps, TreeOptions())) == LARGE_TREE + 40
    assert len(plain(steps, TreeOptions(depth=0))) == LARGE_TREE + 40


def test_long_runs_of_calls_are_shortened_around_the_failing_one() -> None:
    lines = plain(wide(500, failing_at=250), TreeOptions())
    assert [re.sub(r", [0-9.]+m?s\)$", ")", line) for line in lines] == [
        "Execution: loop",
        *["├─ Step: check (completed)"] * 5,
        "├─ … 245 more steps: check ×245",
        "├─ Step: check (failed)",
        "├─ … 247 more steps: check ×247",
        "├─ Step: check (completed)",
        "└─ Step: check (completed)",
    ]
    # a small tree, or --full, is never shortened
    assert len(plain(wide(LARGE_TREE - 1), TreeOptions())) == LARGE_TREE
    assert len(plain(wide(500), TreeOptions(full=True))) == 501


def test_aggregated_calls_are_counted_where_they_are_cut() -> None:
    steps = chain(3)
    steps[2] = step(
        3,
        2,
        "recurse",
        aggregates=[
            {"name": "recurse", "count": 1234, "total_ns": 5_000_000, "errors": 0},
        ],
    )
    assert plain(steps, TreeOptions(depth=1))[1].endswith(
        " … 1 step and 1,234 calls not recorded below"
    )


def test_the_summary_of_a_large_tree() -> None:
    steps = wide(500, failing_at=250)
    steps[3] = step(
        4,
        1,
        "check",
        aggregates=[
            {"name": "log", "count": 70, "total_ns": 10, "errors": 2},
        ],
    )
    out = printed(steps, TreeOptions())
    assert "Tree: 501 steps, 1 level deep, 70 more calls counted but not recorded\n" in out
    assert "  check  500 calls, 1 error\n" in out
    assert "  log    70 calls (0 recorded), 2 errors\n" in out
    assert "  loop   1 call, 1 error\n" in out
    assert "  shown: every level" in out
    assert "├─ … 245 more steps: check ×245" in out
    no_tree = printed(steps, TreeOptions(show=False))
    assert "Tree: 501 steps" in no_tree and "Step:" not in no_tree
    assert "shown:" not in no_tree
    deep = printed(chain(LARGE_TREE + 1, failing=True), TreeOptions(depth=2))
    assert "  shown: the top 2 levels and the failing path (--depth N for more, --full" in deep
    assert "Tree:" not in printed(chain(5), TreeOptions())
    assert "Tree:" not in printed(chain(LARGE_TREE + 1), TreeOptions(full=True))


def printed(steps: list[StepRecord], options: TreeOptions) -> str:
    now = datetime.datetime.now(datetime.UTC)
    execution = ExecutionRecord(
        id="a" * 32,
        function_id=1,
        version_id=1,
        namespace="default",
        name=steps[0].name,
        version=1,
        trigger=Trigger.CLI,
        status=ExecutionStatus.SUCCEEDED,
        input={},
        output=None,
        error=None,
        versions={},
        queued_at=now,
        started_at=now,
        finished_at=now,
        duration_ms=3,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )
    buffer = io.StringIO()
    print_execution(Console(file=buffer, width=200), execution, steps, options)
    return buffer.getvalue()


def test_a_tree_deeper_than_pythons_stack_is_rendered() -> None:
    steps = chain(5000)
    shape = TreeShape(steps)
    assert shape.depth == 4999
    assert len(tree_lines(steps, TreeOptions(full=True), shape)) == 5000


def test_full_goes_with_neither_depth_nor_no_tree() -> None:
    assert tree_options(None, True, False) == TreeOptions(full=True)
    for depth, no_tree in ((2, False), (None, True)):
        with pytest.raises(CliError, match="--full cannot be combined"):
            tree_options(depth, True, no_tree)


@pytest.mark.slow
def test_run_and_show_of_a_large_failing_recursion(cli: Cli, tmp_path: pathlib.Path) -> None:
    source = tmp_path / "descend.py"
    source.write_text(
        "def descend(n: int):\n"
        "    if n == 0:\n"
        "        raise RuntimeError('bottom reached')\n"
        "    for _ in range(2 if n > 60 else 1):\n"
        "        pass\n"
        "    return descend(n - 1)\n"
    )
    assert cli("deploy", str(source)).exit_code == 0
    ran = cli("run", "descend", "-a", "n=80")
    assert ran.exit_code == 1, ran
    out = ran.stdout
    assert "Tree: 81 steps, 80 levels deep\n" in out
    assert "  descend  81 calls, 81 errors\n" in out
    assert out.count("Step: descend (failed") == 80  # the failing path, all of it
    assert "Failing path: " + " → ".join(["descend"] * 81) in out
    # the whole chain of frames, outermost first, then the failing step's inputs
    frames = out[out.index("Traceback (most recent call last):") :].splitlines()
    assert frames[1:5] == [
        "  default/descend.py:6 in descend",
        "    return descend(n - 1)",
        "  default/descend.py:6 in descend",
        "    return descend(n - 1)",
    ]
    assert "  default/descend.py:3 in descend\n    raise RuntimeError('bottom reached')\n" in out
    assert out.count("default/descend.py:6 in descend") == 80
    assert "Failing step: descend (default/descend v1), with inputs\n  n = 0\n" in out
    execution_id = out.split()[1]
    assert cli("show", execution_id).stdout == out
    no_tree = cli("show", execution_id, "--no-tree").stdout
    assert "Step:" not in no_tree and "Tree: 81 steps" in no_tree
    assert "Traceback (most recent call last):" in no_tree
    full = cli("show", execution_id, "--full").stdout
    assert "Tree:" not in full and full.count("Step: descend") == 80
    refused = cli("show", execution_id, "--full", "--depth", "3")
    assert refused.exit_code == 2 and "--full cannot be combined with --depth" in refused.stderr


def test_rows_under_aggregates_keep_the_plain_layout_and_are_counted() -> None:
    from runtree.service import render_steps

    row = {"name": "leaf", "count": 7, "total_ns": 10, "errors": 0}
    steps = chain(2)
    steps[1] = step(
        2,
        1,
        "recurse",
        aggregates=[
            {"name": "branch", "count": 3, "total_ns": 10, "errors": 0, "children": [row]},
        ],
    )
    assert "\n".join(plain(steps)) == render_steps(steps)
    assert plain(steps)[-1].endswith("leaf ×7 (10ns total, 0 errors, not recorded)")
    assert plain(steps, TreeOptions(depth=1))[1].endswith(" … 10 calls not recorded below")
