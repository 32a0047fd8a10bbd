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


HAND_DRIVEN_COROUTINES = '''
import asyncio, contextvars, json, types, runtree

ns = {"__name__": "m"}
exec(runtree.instrument("""
import types

def leaf(x):
    return x

@types.coroutine
def pause():
    yield

async def quick(fut):
    try:
        return await fut
    finally:
        leaf("quick-finally")

async def fails(fut):
    try:
        await fut
        raise KeyError("after resume")
    finally:
        pass

async def fails_plain(fut):
    await fut
    raise KeyError("plain")

async def catcher():
    try:
        await pause()
    except ValueError:
        leaf("caught")
    await pause()
    return "catcher-done"

async def closed():
    await pause()

async def inner(keep):
    keep.append(contextvars.copy_context())  # while it runs in the driver's context
    leaf("in-1")
    await pause()
    leaf("in-2")
    return "inner-done"

async def outer(keep):
    value = await inner(keep)
    await pause()
    return value

def drive1(c, keep):
    c.send(None)
    keep[0].run(leaf, "in-copy")  # a copy made while it ran (as asyncio.to_thread makes)
    leaf("drive1")

def drive2(c, keep):
    c.send(None)
    leaf("drive2")
    try:
        c.send(None)
    except StopIteration as stop:
        return stop.value

def step(c, fut, value):
    fut.set_result(value)
    try:
        c.send(None)
    except StopIteration as stop:
        return stop.value
    except KeyError as error:
        return repr(error)

def run():
    loop = asyncio.new_event_loop()
    out = []
    f1, f2, f3 = loop.create_future(), loop.create_future(), loop.create_future()
    c1, c2, c3 = quick(f1), fails(f2), fails_plain(f3)
    for c in (c1, c2, c3):
        c.send(None)
    leaf("between")
    out.append(step(c1, f1, 1))
    out.append(step(c2, f2, 2))
    out.append(step(c3, f3, 3))
    c4 = catcher()
    c4.send(None)
    leaf("before-throw")
    c4.throw(ValueError("thrown"))
    try:
        c4.send(None)
    except StopIteration as stop:
        out.append(stop.value)
    c5 = closed()
    c5.send(None)
    leaf("before-close")
    c5.close()
    keep = []
    c6 = outer(keep)
    drive1(c6, keep)
    out.append(drive2(c6, keep))
    loop.close()
    return out

async def amain():
    c = inner([])
    c.send(None)
    leaf("in-task")
    await asyncio.sleep(0)
    try:
        c.send(None)
    except StopIteration as stop:
        return stop.value
""", "m.py"), ns)
ns["asyncio"] = asyncio
ns["contextvars"] = contextvars

result = []
for which in ("run", "task"):
    with runtree.record() as rec:
        if which == "run":
            value = ns["run"]()
        else:
            value = asyncio.run(ns["amain"]())
    rows = [repr(value)]
    for s in rec.steps:
        d = s.to_dict()
        err = d.get("error") or {}
        preview = (d["output"] or {}).get("preview")
        rows.append([s.id, s.parent_id, s.name, s.status, preview, err.get("type")])
    result.append(rows)
print(json.dumps(result))
'''


HAND_DRIVEN_PRINT = '''
import json, runtree
ns = {"__name__": "m"}
exec(runtree.instrument("""
import asyncio, sys

def leaf(x):
    return x

async def talker():
    await asyncio.sleep(0)
    print("after resume")
    sys.stdout.write("written\\\\n")
    sys.stdout.writelines(["lines\\\\n"])
    leaf(1)
    return 1

def drive():
    coro = talker()
    coro.send(None)
    print("driver")
    try:
        coro.send(None)
    except StopIteration:
        pass
""", "m.py"), ns)
with runtree.record() as rec:
    ns["drive"]()
print(json.dumps([[s.name, s.printed] for s in rec.steps]))
'''


@pytest.mark.parametrize("runtime", ["python", "c"])
def test_a_coroutine_driven_by_hand_prints_into_its_own_step_right_after_it_resumes(
    runtime: str,
) -> None:
    if runtime == "c" and not c_available():
        pytest.skip("the C accelerator is not built here")
    found = run_python(HAND_DRIVEN_PRINT, runtime)
    assert found == [
        ["drive", "driver\n"],
        ["talker", "after resume\nwritten\nlines\n"],
        ["leaf", ""],
    ], found


HAND_DRIVEN_IO = '''
import json, runtree
from runtree.tracking import io_steps

def request(url):  # as an HTTP library patched by the worker's world does: not instrumented
    io_steps.end(io_steps.begin("GET", url, {}, None), status_code=200, response="ok")

ns = {"__name__": "m", "request": request}
exec(runtree.instrument("""
import asyncio

async def talker():
    await asyncio.sleep(0)
    request("http://after-resume")
    return 1

def drive():
    coro = talker()
    coro.send(None)
    request("http://driver")
    try:
        coro.send(None)
    except StopIteration:
        pass
""", "m.py"), ns)
with runtree.record() as rec:
    ns["drive"]()
names = {s.id: s.name for s in rec.steps}
print(json.dumps([[s.name, names.get(s.parent_id)] for s in rec.steps]))
'''


@pytest.mark.parametrize("runtime", ["python", "c"])
def test_a_coroutine_driven_by_hand_places_an_io_step_under_itself_right_after_it_resumes(
    runtime: str,
) -> None:
    """An I/O step begun by library code the coroutine calls right after a ``send`` resumed
    it, before any hook ran, is the coroutine's; one its driver begins while it is suspended
    is the driver's."""
    if runtime == "c" and not c_available():
        pytest.skip("the C accelerator is not built here")
    found = run_python(HAND_DRIVEN_IO, runtime)
    assert found == [
        ["drive", None],
        ["talker", "drive"],
        ["GET http://driver", "drive"],
        ["GET http://after-resume", "talker"],
    ], found


@pytest.mark.parametrize("runtime", ["python", "c"])
def test_coroutines_driven_by_hand_give_way_to_their_driver_while_suspended(runtime: str) -> None:
    """A coroutine suspends at an ``await`` without a hook. Driven by hand (``send``,
    ``throw``, ``close``), the driver's calls between two sends are the driver's, and what the
    coroutine does after a later send is its own, even when no hook ran since (a ``return`` or
    a ``raise`` right after the ``await``: output and error kept). A copy of the context made
    while it ran (as ``asyncio.to_thread`` makes) still runs its calls under it; inside an
    asyncio task, the task's own calls between two sends are the task's."""
    if runtime == "c" and not c_available():
        pytest.skip("the C accelerator is not built here")
    found = run_python(HAND_DRIVEN_COROUTINES, runtime)
    assert isinstance(found, list), found
    by_hand, in_task = found
    assert by_hand == [
        "[1, \"KeyError('after resume')\", \"KeyError('plain')\", 'catcher-done', 'inner-done']",
        [
            1,
            None,
            "run",
            "completed",
            [1, "KeyError('after resume')", "KeyError('plain')", "catcher-done", "inner-done"],
            None,
        ],
        [2, 1, "quick", "completed", 1, None],  # returned in a finally-protected try
        [3, 1, "fails", "failed", None, "KeyError"],  # raised in a finally-protected try
        [4, 1, "fails_plain", "failed", None, "KeyError"],
        [5, 1, "leaf", "completed", "between", None],
        [6, 1, "step", "completed", 1, None],
        [7, 2, "leaf", "completed", "quick-finally", None],
        [8, 1, "step", "completed", "KeyError('after resume')", None],
        [9, 1, "step", "completed", "KeyError('plain')", None],
        [10, 1, "catcher", "completed", "catcher-done", None],
        [11, 10, "pause", "failed", None, "ValueError"],
        [12, 1, "leaf", "completed", "before-throw", None],
        [13, 10, "leaf", "completed", "caught", None],
        [14, 10, "pause", "completed", None, None],
        [15, 1, "closed", "failed", None, "GeneratorExit"],  # as before: close() ends it
        [16, 15, "pause", "completed", None, None],
        [17, 1, "leaf", "completed", "before-close", None],
        [18, 1, "drive1", "completed", None, None],
        [19, 18, "outer", "completed", "inner-done", None],
        [20, 19, "inner", "completed", "inner-done", None],
        [21, 20, "leaf", "completed", "in-1", None],
        [22, 20, "pause", "completed", None, None],
        [23, 20, "leaf", "completed", "in-copy", None],
        [24, 18, "leaf", "completed", "drive1", None],
        [25, 1, "drive2", "completed", "inner-done", None],  # another driver resumes them
        [26, 20, "leaf", "completed", "in-2", None],
        [27, 19, "pause", "completed", None, None],
        [28, 25, "leaf", "completed", "drive2", None],
    ]
    assert in_task == [
        "'inner-done'",
        [1, None, "amain", "completed", "inner-done", None],
        [2, 1, "inner", "completed", "inner-done", None],
        [3, 2, "leaf", "completed", "in-1", None],
        [4, 2, "pause", "completed", None, None],
        [5, 1, "leaf", "completed", "in-task", None],
        [6, 2, "leaf", "completed", "in-2", None],
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
