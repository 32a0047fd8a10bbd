"""The two tracking runtimes (tracking/accelerator.py): the C hooks when built, the pure-Python
hooks otherwise, chosen with RUNTREE_TRACKING_RUNTIME; both record exactly the same trees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runtree.tracking import accelerator

SRC = str(Path(accelerator.__file__).resolve().parents[2])


def run_python(code: str, runtime: str | None, *, block_extension: bool = False) -> Any:
    """Run ``code`` in a fresh interpreter with the given runtime; its last stdout line as
    JSON (or the CompletedProcess when it failed)."""
    env = {k: v for k, v in os.environ.items() if k != accelerator.RUNTIME_ENV}
    if runtime is not None:
        env[accelerator.RUNTIME_ENV] = runtime
    env["PYTHONPATH"] = SRC + os.pathsep + str(Path(SRC).parent)
    prelude = ""
    if block_extension:  # as if it were not built: its import fails
        prelude = "import sys\nsys.modules['runtree.tracking._hooks'] = None\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        return done
    return json.loads(done.stdout.strip().splitlines()[-1])


def c_available() -> bool:
    found = run_python(
        "import json; from runtree.tracking import accelerator as a; "
        "import runtree; print(json.dumps(a.describe()))",
        None,
    )
    return isinstance(found, dict) and found["runtime"] == "c"


DESCRIBE = (
    "import json, runtree; from runtree.tracking import accelerator as a; "
    "print(json.dumps(a.describe()))"
)


def test_python_is_chosen_when_asked_for() -> None:
    assert run_python(DESCRIBE, "python") == {
        "runtime": "python",
        "detail": "pure Python (RUNTREE_TRACKING_RUNTIME=python)",
    }


def test_a_missing_extension_falls_back_to_python_unless_c_is_required() -> None:
    found = run_python(DESCRIBE, None, block_extension=True)
    assert found["runtime"] == "python" and "not built" in found["detail"]
    failed = run_python(DESCRIBE, "c", block_extension=True)
    assert isinstance(failed, subprocess.CompletedProcess)
    assert "RUNTREE_TRACKING_RUNTIME=c but the C accelerator cannot be used" in failed.stderr


def test_an_unknown_choice_is_a_clear_error() -> None:
    failed = run_python(DESCRIBE, "fortran")
    assert isinstance(failed, subprocess.CompletedProcess)
    assert "RUNTREE_TRACKING_RUNTIME must be one of auto, c, python" in failed.stderr


@pytest.mark.skipif(not c_available(), reason="the C accelerator is not built here")
def test_c_is_chosen_when_built() -> None:
    assert run_python(DESCRIBE, "c")["runtime"] == "c"
    assert run_python(DESCRIBE, "auto")["runtime"] == "c"


# One script, several programs: the tree each runtime records, without timings.
TREES = '''
import json, threading, runtree

def module(source, name):
    ns = {"__name__": name}
    exec(runtree.instrument(source, name + ".py"), ns)
    return ns

other = module("""
def check(n):
    if n > 100:
        raise ValueError(f"too big: {n}")
def validate(n):
    check(n)
    return n
""", "other")
ns = module("""
import threading

class Box:
    def __init__(self, v):
        self.v = v
    def get(self):
        return self.v

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def fib_gen(k):
    for i in range(k):
        yield fib(i)

def boom(n):
    raise KeyError(n)

def inner(n):
    if n % 97 == 0:
        boom(n)
    return Box(n).get()

def cleanup(n):
    try:
        return inner(n)
    finally:
        pass

def loop(n):
    total = 0
    for i in range(n):
        try:
            total += cleanup(i)
        except KeyError:
            total -= 1
    return total

def worker(out, n):
    out.append(fib(n))

def ping(n):
    return pong(n - 1) + 1 if n else 0

def pong(n):
    return leaf(n) + ping(n - 1) if n else 0

def leaf(n):
    return -n

def summary(n):
    total = fib(n)
    items = list(fib_gen(6))
    try:
        validate(total)
    except ValueError as error:
        note = str(error)
    out = []
    t = threading.Thread(target=worker, args=(out, 10))
    t.start(); t.join()
    return total, items, note, loop(300), out, {"k": [1, 2]}, ping(9)
""", "main")
ns["validate"] = other["validate"]

def rows(aggs):
    return [[a["name"], a["count"], a["errors"], rows(a.get("children", []))] for a in aggs]

def tree(rec):
    out = []
    for s in rec.steps:
        d = s.to_dict()
        out.append([d["id"], d["parent_id"], d["depth"], d["name"], d["status"],
                    {k: v["preview"] for k, v in d["inputs"].items()},
                    None if d["output"] is None else d["output"]["preview"],
                    None if d["error"] is None else [d["error"]["type"], d["error"]["message"],
                                                     len(d["error"]["traceback"])],
                    d["warnings"], rows(d["aggregates"]),
                    d["generator"] and d["generator"]["yielded"]])
    return out

result = {}
# (2, 500), (1, 50): past the cap on aggregate rows (as many as the step budget), calls count
# in their caller's row
for budget, depth in ((10_000, 500), (60, 500), (300, 8), (25, 3), (2, 500), (1, 50)):
    with runtree.record(step_budget=budget, max_depth=depth) as rec:
        value = ns["summary"](18)
    result[f"{budget}/{depth}"] = [repr(value), tree(rec), rows(rec.to_dict()["aggregates"])]
print(json.dumps(result))
'''


@pytest.mark.skipif(not c_available(), reason="the C accelerator is not built here")
def test_both_runtimes_record_identical_trees() -> None:
    in_python = run_python(TREES, "python")
    in_c = run_python(TREES, "c")
    assert isinstance(in_python, dict), in_python
    assert isinstance(in_c, dict), in_c
    for key in in_python:
        assert in_c[key] == in_python[key], key
    # the programs really reach the budget's corners
    text = json.dumps(in_c)
    assert "not captured" in text and "too big: 2584" in text and '"KeyError"' in text


# Calls past the budget, which the C hooks tell apart by their frame's address (_hooks.c,
# "call identity"): recursions failing and caught at every other level, and calls made by an
# aggregated call into a recorded generator suspended in a ``yield from`` of code runtree did
# not instrument (the generator is their parent: the C hooks walk the frames themselves there).
PAST_BUDGET = '''
import json, runtree

def module(source, name):
    ns = {"__name__": name}
    exec(runtree.instrument(source, name + ".py"), ns)
    return ns

ns = module("""
def leaf(x):
    return x + 1

def gen(n, plain_items):
    yield from plain_items(n)

def pull(g):
    return next(g)

def down(n, fail_at):
    if n == fail_at:
        raise ValueError(n)
    if n == 0:
        return 0
    try:
        return down(n - 1, fail_at) + 1
    except ValueError:
        if n % 2:
            raise
        return -1

def burn(n):
    return n if n < 1 else burn(n - 1)

def run(plain_items):
    g = gen(6, plain_items)
    first = next(g)
    burn(30)
    pulled = [pull(g) for _ in range(4)]
    deep = [down(40, -1), down(40, 21), down(40, 30)]
    try:
        down(40, 11)
    except ValueError as error:
        deep.append(str(error))
    return first, pulled, deep
""", "past")
plain = {"leaf": ns["leaf"]}
# not instrumented: a generator runtree sees nothing of, delegated to by gen
exec("def plain_items(n):\\n    for j in range(n):\\n        yield leaf(j)\\n", plain)

def rows(aggs):
    return [[a["name"], a["count"], a["errors"], rows(a.get("children", []))] for a in aggs]

def tree(rec):
    return [[s.id, s.parent_id, s.name, s.status, s.to_dict()["warnings"],
             rows(s.to_dict()["aggregates"])] for s in rec.steps]

result = {}
for budget in (4, 12, 40, 200):
    with runtree.record(step_budget=budget) as rec:
        value = ns["run"](plain["plain_items"])
    result[str(budget)] = [repr(value), tree(rec), rows(rec.to_dict()["aggregates"])]
print(json.dumps(result))
'''


@pytest.mark.skipif(not c_available(), reason="the C accelerator is not built here")
def test_calls_past_the_budget_are_placed_and_counted_alike_on_both_runtimes() -> None:
    in_python = run_python(PAST_BUDGET, "python")
    in_c = run_python(PAST_BUDGET, "c")
    assert isinstance(in_python, dict), in_python
    assert isinstance(in_c, dict), in_c
    assert in_c == in_python
    value, steps, top_rows = in_c["4"]
    assert value == "(1, [2, 3, 4, 5], [40, 17, 7])"
    by_name = {step[2]: step for step in steps}
    # the pulls are counted under run; what the generator calls, under the generator
    assert ["pull", 4, 0, []] in by_name["run"][5]
    assert by_name["gen"][5] == [["leaf", 4, 0, []]]
    # every call of down counted once: 41 + 20 + 11 + 30; every raise of its ValueError as an
    # error: at 21 (caught at 22), at 30 and 31 (caught at 32), at 11 (caught at 12)
    assert ["down", 102, 4, []] in by_name["run"][5]
    assert top_rows == []
    for budget, (_, steps, _) in in_c.items():
        # every call returned, and the generator was closed: nothing is left interrupted
        assert [s for s in steps if s[3] not in ("completed", "failed")] == [], budget


UNINSTRUMENTED_DELEGATE = '''
import json, runtree

ns = {"__name__": "m"}
exec(runtree.instrument("""
def leaf(x):
    return x + 1

def gen(n, plain_items):
    yield from plain_items(n)

def outer(n, plain_items, plain_wrap):
    yield from plain_wrap(gen(n, plain_items))
    leaf(100)

def pull(g):
    return next(g)

def run(g, keep):
    first = next(g)
    pulled = [pull(g) for _ in range(2)]
    if keep:
        kept.append(g)
    return first, pulled
""", "m.py"), ns)
plain = {"leaf": ns["leaf"]}
# not instrumented: generators runtree sees nothing of, delegated to by gen and outer
exec(
    "def plain_items(n):\\n    for j in range(n):\\n        yield leaf(j)\\n"
    "def plain_wrap(items):\\n    yield from items\\n",
    plain,
)
kept = ns["kept"] = []
items, wrap = plain["plain_items"], plain["plain_wrap"]

result = []
for nested, keep in ((False, False), (False, True), (True, False)):
    with runtree.record() as rec:
        g = ns["outer"](3, items, wrap) if nested else ns["gen"](3, items)
        value = ns["run"](g, keep)
        del g
    result.append([repr(value)] + [
        [s.id, s.parent_id, s.name, s.status, (s.to_dict()["output"] or {}).get("preview")]
        for s in rec.steps
    ])
print(json.dumps(result))
'''


@pytest.mark.parametrize("runtime", ["python", "c"])
def test_calls_that_resume_a_generator_through_an_uninstrumented_delegate_complete(
    runtime: str,
) -> None:
    """``gen`` suspends and resumes inside ``yield from`` of code runtree did not instrument,
    so no yield or resume hook runs there; the calls that resume it (``pull``) still end
    ``completed`` with their output, and only a generator really left suspended when the
    recording closes is ``interrupted``."""
    if runtime == "c" and not c_available():
        pytest.skip("the C accelerator is not built here")
    found = run_python(UNINSTRUMENTED_DELEGATE, runtime)
    assert isinstance(found, list), found
    released, kept, nested = found
    steps = [
        [1, None, "run", "completed", [1, [2, 3]]],
        [2, 1, "gen", "completed", None],  # closed when the last reference went
        [3, 2, "leaf", "completed", 1],
        [4, 1, "pull", "completed", 2],
        [5, 2, "leaf", "completed", 2],
        [6, 1, "pull", "completed", 3],
        [7, 2, "leaf", "completed", 3],
    ]
    assert released == ["(1, [2, 3])", *steps]
    steps[1] = [2, 1, "gen", "interrupted", None]  # still suspended when the recording closed
    assert kept == ["(1, [2, 3])", *steps]
    # two instrumented generators, each delegating to uninstrumented code
    assert nested == [
        "(1, [2, 3])",
        [1, None, "run", "completed", [1, [2, 3]]],
        [2, 1, "outer", "completed", None],
        [3, 2, "gen", "completed", None],
        [4, 3, "leaf", "completed", 1],
        [5, 1, "pull", "completed", 2],
        [6, 3, "leaf", "completed", 2],
        [7, 1, "pull", "completed", 3],
        [8, 3, "leaf", "completed", 3],
    ]


@pytest.mark.skipif(not c_available(), reason="the C accelerator is not built here")
def test_the_c_hooks_count_past_the_budget_without_frame_objects() -> None:
    """The address check passed on this interpreter (else the C hooks keep frame objects for
    aggregated calls too), and a row's count grown in place is never an int someone holds."""
    found = run_python(
        """
        import json, runtree
        from runtree.tracking import _hooks
        ns = {"__name__": "m"}
        exec(runtree.instrument("def f(n):\\n    return f(n - 1) + 1 if n else 0\\n", "m.py"), ns)
        with runtree.record(step_budget=5) as rec:
            ns["f"](600)
            ns["f"](600)  # counted in one row under the root: 601 calls
            (agg,) = rec.aggregates
            held = agg.count
            before = int(str(held))  # (a copy made without the int's own value)
            ns["f"](600)
        print(json.dumps([_hooks.uses_addresses(), before, held, agg.count]))
        """,
        "c",
    )
    assert isinstance(found, list), found
    uses_addresses, before, held, after = found
    assert uses_addresses is True
    assert before == 601
    assert held == before  # the int read out of the row did not change under its reader
    assert after == 2 * 601


def test_doctor_reports_the_runtime_here_and_in_workers() -> None:
    from runtree.cli.commands_doctor import tracking_runtimes

    found = tracking_runtimes()
    assert set(found) == {"this process", "workers"}
    assert found["this process"] == accelerator.describe()
    assert found["workers"]["runtime"] in ("c", "python")
