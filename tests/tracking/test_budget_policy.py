"""The fair step budget (tracking/budget.py, README "Step budget"): the tree keeps its shape
when the budget runs out -- error paths, calls into other modules and the first calls of each
call path stay steps; everything else is counted exactly under its true parent."""

from __future__ import annotations

from typing import Any

import runtree
from runtree.tracking import format_duration
from runtree.tracking.budget import FAIR_SHARE, PROMOTED_WARNING
from tests.conftest import load_module

SUMMARY = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def fib_gen(k):
    for i in range(k):
        yield fib(i)

def fib_summary(n):
    total = fib(n)
    items = list(fib_gen(8))
    try:
        validate(total)
    except ValueError as error:
        note = str(error)
    return total, items, note
"""
VALIDATE = """
def check(n):
    if n > 100:
        raise ValueError(f"too big: {n}")

def validate(n):
    check(n)
    return n
"""


def fib_calls(n: int) -> int:
    return 1 if n < 2 else 1 + fib_calls(n - 1) + fib_calls(n - 2)


def summary_module() -> dict[str, Any]:
    ns = load_module(SUMMARY)
    ns["validate"] = load_module(VALIDATE)["validate"]
    return ns


def rows(aggregates: Any) -> list[Any]:
    """Every aggregate row, nested rows included."""
    found = []
    pending = list(aggregates.values() if isinstance(aggregates, dict) else aggregates)
    while pending:
        row = pending.pop()
        found.append(row)
        pending.extend(row.own_children())
    return found


def counted(rec: runtree.Recording) -> int:
    """Steps plus every aggregated call: must equal the number of calls made."""
    total = len(rec.steps) + sum(r.count for r in rows(rec.aggregates))
    return total + sum(r.count for s in rec.steps for r in rows(s.aggregates))


def top_steps(rec: runtree.Recording, parent: Any) -> list[Any]:
    return [s for s in rec.steps if s.parent_id == parent.id]


def test_a_late_cross_module_call_and_its_caught_error_are_full_steps_in_place() -> None:
    ns = summary_module()
    with runtree.record() as rec:
        total, items, note = ns["fib_summary"](25)
    assert (total, note) == (75025, "too big: 75025")
    (summary,) = [s for s in rec.steps if s.parent_id is None]
    names = [s.name for s in top_steps(rec, summary)]
    assert names == ["fib", "fib_gen", "validate"]
    validate = top_steps(rec, summary)[2]
    assert validate.status == "failed" and validate.error is not None
    assert validate.error["type"] == "ValueError"
    (check,) = top_steps(rec, validate)
    assert check.name == "check" and check.status == "failed"
    assert check.error is not None and check.error["message"] == "too big: 75025"
    assert len(rec.steps) <= 10_000
    # every call accounted for: fib(25), the generator's fib(0..7), the summary, validate, check
    calls = fib_calls(25) + sum(fib_calls(i) for i in range(8)) + 4
    assert counted(rec) == calls


def test_the_generator_is_a_step_with_its_items_and_its_own_calls() -> None:
    ns = summary_module()
    with runtree.record() as rec:
        ns["fib_summary"](25)
    (gen,) = [s for s in rec.steps if s.name == "fib_gen"]
    assert gen.status == "completed" and gen.yields == 8 and gen.duration_ns > 0
    under_gen = top_steps(rec, gen)
    # a new call path keeps its first few calls, the rest is counted under the generator
    assert [s.name for s in under_gen] == ["fib"] * FAIR_SHARE
    (row,) = gen.aggregates.values()
    assert row.name == "fib" and row.errors == 0
    nested = sum(r.count for s in under_gen for r in rows(s.aggregates))
    assert row.count + len(under_gen) + nested == sum(fib_calls(i) for i in range(8))
    assert 0 < row.total_ns <= gen.duration_ns


def test_aggregates_sit_under_their_true_parent_with_exact_counts_and_time() -> None:
    ns = summary_module()
    with runtree.record(step_budget=50) as rec:
        ns["fib_summary"](15)
    for step in rec.steps:
        for row in rows(step.aggregates):
            assert row.active == 0
            assert row.name == "fib"
            assert row.total_ns <= step.duration_ns
    # the count of a row under a fib step is exactly the calls made below that step, minus the
    # steps there: check on every fib step whose subtree is complete
    by_parent: dict[Any, list[Any]] = {}
    for step in rec.steps:
        by_parent.setdefault(step.parent_id, []).append(step)

    def calls_below(step: Any) -> int:
        return sum(1 + calls_below(c) for c in by_parent.get(step.id, [])) + sum(
            r.count for r in rows(step.aggregates)
        )

    for step in rec.steps:
        if step.name == "fib":
            n = step.inputs["n"].preview
            assert calls_below(step) == fib_calls(n) - 1, step


def test_calls_made_by_aggregated_calls_are_rows_under_their_callers_row() -> None:
    ns = load_module(
        "def leaf(i):\n    return i\n"
        "def mid(i):\n    return leaf(i) + leaf(i)\n"
        "def top(n):\n    return sum(mid(i) for i in range(n))\n"
    )
    with runtree.record(step_budget=5) as rec:
        assert ns["top"](100) == 9900
    (top,) = [s for s in rec.steps if s.name == "top"]
    (mid_row,) = top.aggregates.values()
    (leaf_row,) = mid_row.own_children()
    mid_steps = [s for s in rec.steps if s.name == "mid"]
    leaf_steps = [s for s in rec.steps if s.name == "leaf"]
    assert mid_row.count + len(mid_steps) == 100
    leaf_rows = [r for s in rec.steps for r in rows(s.aggregates) if r.name == "leaf"]
    assert leaf_row in leaf_rows
    assert sum(r.count for r in leaf_rows) + len(leaf_steps) == 200
    assert leaf_row.count == 2 * mid_row.count  # exactly the calls the aggregated mids made
    lines = rec.render().splitlines()
    at = lines.index(
        f"└─ mid ×{mid_row.count} ({format_duration(mid_row.total_ns)} "
        "total, 0 errors, not recorded)"
    )
    assert lines[at + 1].startswith(f"   └─ leaf ×{leaf_row.count} (")
    data = rec.to_dict()
    (top_dict,) = [s for s in data["steps"] if s["name"] == "top"]
    assert top_dict["aggregates"][0]["children"][0]["name"] == "leaf"


def test_the_path_to_an_error_past_the_budget_is_kept() -> None:
    ns = load_module(
        "def boom(n):\n    raise KeyError(n)\n"
        "def inner(n):\n    if n == 777:\n        boom(n)\n    return n\n"
        "def middle(n):\n    return inner(n)\n"
        "def outer(n):\n    total = 0\n    for i in range(n):\n"
        "        try:\n            total += middle(i)\n"
        "        except KeyError:\n            pass\n    return total\n"
    )
    with runtree.record(step_budget=100) as rec:
        ns["outer"](2000)
    (boom,) = [s for s in rec.steps if s.name == "boom"]
    assert boom.status == "failed" and boom.error is not None
    assert boom.error["type"] == "KeyError"
    inner = next(s for s in rec.steps if s.id == boom.parent_id)
    middle = next(s for s in rec.steps if s.id == inner.parent_id)
    assert (inner.name, middle.name) == ("inner", "middle")
    assert inner.status == middle.status == "failed"
    assert middle.parent_id == rec.steps[0].id  # under outer, where it was caught
    assert PROMOTED_WARNING in middle.warnings and middle.inputs == {}
    assert counted(rec) == 1 + 2000 * 2 + 1
    # the promoted calls left their rows: the rows count the other calls exactly
    (middle_row,) = rec.steps[0].aggregates.values()
    middle_steps = [s for s in rec.steps if s.name == "middle"]
    assert middle_row.count + len(middle_steps) == 2000
    assert middle_row.errors == 0


def test_errors_past_the_allowance_are_counted_not_kept() -> None:
    ns = load_module(
        "def bad(n):\n    raise ValueError(n)\n"
        "def loop(n):\n    for i in range(n):\n        try:\n            bad(i)\n"
        "        except ValueError:\n            pass\n"
    )
    with runtree.record(step_budget=40) as rec:
        ns["loop"](1000)
    bad_steps = [s for s in rec.steps if s.name == "bad"]
    assert all(s.status == "failed" for s in bad_steps)
    (row,) = rec.steps[0].aggregates.values()
    assert row.count + len(bad_steps) == 1000
    assert row.errors == row.count  # every aggregated call failed, and is counted as failed
    # the general pool, the path's fair share and its error allowance: no more
    assert len(bad_steps) == 40 - 40 // 5 - 1 + 2 * FAIR_SHARE


def test_a_new_call_path_under_an_aggregated_call_promotes_its_callers() -> None:
    ns = load_module(
        "def rare(n):\n    return -n\n"
        "def work(n):\n    return rare(n) if n == 500 else n\n"
        "def run(n):\n    return sum(work(i) for i in range(n))\n"
    )
    with runtree.record(step_budget=60) as rec:
        ns["run"](1000)
    (rare,) = [s for s in rec.steps if s.name == "rare"]
    work = next(s for s in rec.steps if s.id == rare.parent_id)
    assert work.name == "work" and PROMOTED_WARNING in work.warnings
    assert work.output is not None and work.output.preview == -500
    assert counted(rec) == 1 + 1000 + 1


def test_memory_stays_bounded_past_the_budget() -> None:
    ns = load_module(
        "def a(n):\n    return b(n) if n % 3 else n\n"
        "def b(n):\n    return c(n) if n % 2 else n\n"
        "def c(n):\n    return n\n"
        "def run(n):\n    return sum(a(i) for i in range(n))\n"
    )
    with runtree.record(step_budget=100) as rec:
        ns["run"](200_000)
    assert len(rec.records) <= 100
    assert rec.paths_left > 100 - 10 and rec.rows_left > 100 - 10
    assert counted(rec) == 1 + 200_000 + 200_000 * 2 // 3 + 200_000 // 3 + 1


def test_a_row_whose_calls_were_all_promoted_is_left_out() -> None:
    # 30 batches of 5 items, each item in another module: the general pool runs out in the
    # 26th batch; the reserve pays 3 batches by their path's fair share and promotes the
    # other 2 (their item calls cross modules). Every call is a step: no row, not even an
    # empty one ("batch ×0"), may be left in any view of the tree.
    ns = load_module(
        "def big_tree(batches, items):\n"
        "    def batch(index):\n"
        "        return sum(item(index, i) for i in range(items))\n"
        "    return sum(batch(b) for b in range(batches))\n"
    )
    ns["item"] = load_module("def item(index, i):\n    return index * i\n")["item"]
    with runtree.record(step_budget=190) as rec:
        ns["big_tree"](30, 5)
    assert len(rec.steps) == 1 + 30 + 30 * 5
    assert all(not step.aggregates for step in rec.steps) and not rec.aggregates
    data = rec.to_dict()
    assert all(step["aggregates"] == [] for step in data["steps"])
    assert "×" not in rec.render()
