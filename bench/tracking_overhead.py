"""How much does runtree's call tracking cost?  A standalone benchmark.

Run it from the project root::

    .venv/bin/python bench/tracking_overhead.py           # full run, 30-60 s
    .venv/bin/python bench/tracking_overhead.py --quick   # smoke run, a few seconds; its
                                                          # numbers are too small to mean much

    # one walk(10,000,000) in a fresh process, bare then recorded (JSON lines: wall and
    # CPU time, peak RSS, steps + aggregated calls):
    .venv/bin/python bench/tracking_overhead.py --child-recursive bare --n 10000000
    .venv/bin/python bench/tracking_overhead.py --child-recursive recorded --n 10000000

``--quick`` shrinks everything (2,000 calls per sample, 3 rounds, walk(20,000), a 1 MiB
argument) so that every code path runs once; ``tests/bench/test_bench_smoke.py`` runs it.

It always exits 0: the PASS/MISS column of the summary is informational, never a test.

Method
------
The machine is shared and noisy, so every comparison is made inside one run: the variants of a
section are interleaved round by round (the order rotates each round), one warm-up round is
discarded, and each figure is the median of the remaining rounds (min..max shown beside it).
A ``gc.collect()`` runs before every sample, outside the timed region; the garbage collector
stays enabled while timing, as it is for users (rows marked "diagnostic" disable it, to show how
much of a figure is GC -- they are not used for any target).

Timing loops are plain (uninstrumented) code that calls the function under test ten times per
loop iteration, so loop overhead is small and identical in every variant. Nothing is subtracted.

The functions under test live in ``WORKLOAD`` below and are compiled twice: with ``compile()``
(the "bare" baseline) and with ``runtree.instrument()``.

What each number means
----------------------
1. Tiny function ``f(a, b): return a + b`` called as ``f(1, 2)``; and ``g(d, key)`` called with a
   3-item dict, so the mutable-argument path (pickled at call time) is measured too.
   CPU ns per call (``time.process_time_ns``), for:

   (a)  bare: the plain compiled function;
   (b)  instrumented, called outside any recording;
   (c)  instrumented, inside ``runtree.record(step_budget=all_steps(calls))``: every call is a real
        step with captured inputs and output. A fresh recording per sample; the timed region is
        creating the recording, the calls, closing it and dropping it. (Steps and their recording
        form reference cycles, so their memory is actually freed by the next ``gc.collect()``,
        outside the timed region -- the reference pays for freeing its log inside it);
   (c') the same with the GC disabled during the sample (diagnostic only);
   (e)  instrumented, inside ``runtree.record(step_budget=1)``: all calls but the first are past
        the budget, so they are only counted and timed (the aggregated path);
   (d)  a minimal reference tracker written here: a decorator that sets/resets a ContextVar,
        reads ``perf_counter_ns`` twice, pickles the args and the result (protocol 5, as runtree)
        and appends one tuple to a list (cleared at the end of the sample);
   (d') the same tracking code inlined into the function body (no wrapper call), for context;
   (d'') the decorator with the GC disabled (diagnostic only).

   Targets: (b) - (a) <= +100 ns ("overhead outside a recording"), and (c) / (d) <= 1.00x.

2. A parent that calls a child 100 times: time per *parent* call (i.e. per 101 calls), bare,
   instrumented outside a recording, recorded (every call a step), recorded past the budget.
   No target: shows how the per-call costs of section 1 add up.

3. ``walk(n)``, a recursive walk over a binary tree of n nodes that makes exactly n calls
   (1,000,000 in the full run), recorded with the *default* step_budget (10,000): the first
   10,000 calls are steps, the rest are aggregated under their nearest recorded ancestor.
   Wall time (``perf_counter_ns``) and CPU time, bare vs recorded, in this process. The peak RSS
   is measured in fresh child processes (``VmHWM`` from ``/proc/self/status``, else
   ``ru_maxrss``), one running walk bare and one recorded, so the figure is the real process
   peak including the interpreter. Targets: recorded peak RSS <= 300 MB (10^6 bytes), recorded
   wall time <= 3x bare.
   The child also checks that nothing was lost: recorded steps + aggregated counts == n, with
   0 errors, and prints the aggregate lines of the rendered tree (name, count, time, errors).

4. Capture cost against the size of the data: CPU per recorded ``consume(x)`` with ``x`` a
   list of 10,000 ints (the baseline), 1,000,000 ints, 10 MiB of 128-char strings, 10 MiB of
   bytes. Target: <= 2x the baseline (the work is bounded by the 64 KiB value budget). Checks
   each capture's marks (truncated, no blob, exact size for bytes, no sha256 of a prefix) and
   prints the time to *read* it (``realize``). Then unpicklable arguments, from the second call
   on: an object holding a lock vs the same object holding an int, a partial of a local
   function vs of a module-level one. Target: <= 5x.
"""

from __future__ import annotations

import argparse
import contextvars
import functools
import gc
import json
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter_ns, process_time_ns
from typing import Any

try:
    import runtree
except ImportError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import runtree
from runtree.tracking import accelerator
from runtree.tracking.budget import RESERVE_DIVISOR

HEADERS = {
    1: "== 1. Tiny function f(a, b): CPU ns per call ==",
    2: "== 2. Parent with 100 children: time per parent call ==",
    3: "== 3. Recursive run: walk(n) with the default step_budget ==",
    4: "== 4. Large argument capture (default 64 KiB value budget) ==",
    5: "== Summary ==",
}

WORKLOAD = '''
def f(a, b):
    return a + b


def g(d, key):
    return d[key] + 1


def child(i):
    return i + 1


def parent(n):
    total = 0
    for i in range(n):
        total += child(i)
    return total


def walk(n):
    """Visit a binary tree of n nodes: exactly n calls of walk, depth about log2(n)."""
    left = (n - 1) // 2
    right = n - 1 - left
    total = 1
    if left:
        total += walk(left)
    if right:
        total += walk(right)
    return total


def consume(data):
    return len(data)


def consume2(data):
    return data
'''

UNROLL = 10
RSS_TARGET_MB = 300
WALL_RATIO_TARGET = 3.0  # the 1,000,000-call run recorded, against the bare run's wall time
OUTSIDE_TARGET_NS = 100
RATIO_TARGET = 1.0
TIMES = "\N{MULTIPLICATION SIGN}"  # marks aggregate lines in the rendered tree


# --- the workload, bare and instrumented --------------------------------------------------


def load_workload(instrumented: bool) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "bench_workload"}
    if instrumented:
        code = runtree.instrument(WORKLOAD, "bench_workload.py")
    else:
        code = compile(WORKLOAD, "bench_workload_bare.py", "exec", dont_inherit=True)
    exec(code, namespace)
    return namespace


def make_driver(fn: Callable[..., Any], args: Sequence[Any], unroll: int) -> Callable[[int], None]:
    """``drive(n)`` calls ``fn(*args)`` n * unroll times, with everything in fast locals."""
    names = [f"a{i}" for i in range(len(args))]
    call = f"fn({', '.join(names)})"
    params = ", ".join(["n", "fn=fn", *(f"{name}={name}" for name in names)])
    body = "".join(f"        {call}\n" for _ in range(unroll))
    source = f"def drive({params}):\n    for _ in range(n):\n{body}"
    namespace: dict[str, Any] = {"fn": fn, **dict(zip(names, args, strict=True))}
    exec(compile(source, "<driver>", "exec", dont_inherit=True), namespace)
    return namespace["drive"]  # type: ignore[no-any-return]


# --- the reference tracker ---------------------------------------------------------------

_ref_current: contextvars.ContextVar[Any] = contextvars.ContextVar("ref_current", default=None)
_ref_set = _ref_current.set
_ref_reset = _ref_current.reset
_dumps = pickle.dumps
_PROTOCOL = 5


def ref_track(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Minimal tracker: current-call ContextVar, two clock reads, two pickles, one append."""
    log: list[tuple[Any, ...]] = []
    append = log.append

    def wrapper(*args: Any) -> Any:
        token = _ref_set(wrapper)
        try:
            t0 = perf_counter_ns()
            args_blob = _dumps(args, _PROTOCOL)
            result = fn(*args)
            append((t0, perf_counter_ns(), args_blob, _dumps(result, _PROTOCOL)))
            return result
        finally:
            _ref_reset(token)

    wrapper.log = log  # type: ignore[attr-defined]
    return wrapper


_inline_log: list[tuple[Any, ...]] = []
_inline_append = _inline_log.append


def f_ref_inline(a: int, b: int) -> int:
    """``f`` with the reference tracking code written into its body."""
    token = _ref_set("f")
    try:
        t0 = perf_counter_ns()
        args_blob = _dumps((a, b), _PROTOCOL)
        result = a + b
        _inline_append((t0, perf_counter_ns(), args_blob, _dumps(result, _PROTOCOL)))
        return result
    finally:
        _ref_reset(token)


def g_ref_inline(d: dict[str, int], key: str) -> int:
    """``g`` with the reference tracking code written into its body."""
    token = _ref_set("g")
    try:
        t0 = perf_counter_ns()
        args_blob = _dumps((d, key), _PROTOCOL)
        result = d[key] + 1
        _inline_append((t0, perf_counter_ns(), args_blob, _dumps(result, _PROTOCOL)))
        return result
    finally:
        _ref_reset(token)


# --- measuring -----------------------------------------------------------------------------

Sampler = Callable[[], float]  # runs one sample, returns the elapsed time per unit (ns)


class Stats:
    def __init__(self, samples: list[float]) -> None:
        self.samples = samples
        self.median = statistics.median(samples)
        self.min = min(samples)
        self.max = max(samples)


def interleave(samplers: dict[str, Sampler], rounds: int) -> dict[str, Stats]:
    """One warm-up round, then ``rounds`` rounds; each round runs every variant once, in an
    order rotated by one each round. Returns the per-variant statistics."""
    names = list(samplers)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds + 1):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            value = samplers[name]()
            if round_index:  # round 0 is the warm-up
                samples[name].append(value)
    return {name: Stats(values) for name, values in samples.items()}


def cpu_sampler(body: Callable[[], None], units: int, *, gc_off: bool = False) -> Sampler:
    def sample() -> float:
        if gc_off:
            gc.disable()
        try:
            start = process_time_ns()
            body()
            return (process_time_ns() - start) / units
        finally:
            if gc_off:
                gc.enable()

    return sample


def all_steps(calls: int) -> int:
    """A step budget whose general pool (all but the reserve, see runtree.tracking.budget)
    holds ``calls`` steps: every call is a step, taken first come, first served."""
    return (calls + 10) * RESERVE_DIVISOR // (RESERVE_DIVISOR - 1) + 1


def recorded_body(
    drive: Callable[[int], None], loops: int, calls: int, step_budget: int, expect_steps: int | None
) -> Callable[[], None]:
    """Fresh recording, the calls, close, drop -- all inside the timed region."""

    def body() -> None:
        rec = runtree.record(step_budget=step_budget)
        with rec:
            drive(loops)
        steps = len(rec)
        del rec
        if expect_steps is not None and steps != expect_steps:
            raise AssertionError(f"expected {expect_steps} steps, got {steps}")

    return body


def reference_body(
    drive: Callable[[int], None], loops: int, log: list[Any], calls: int
) -> Callable[[], None]:
    def body() -> None:
        drive(loops)
        kept = len(log)
        log.clear()
        if kept != calls:
            raise AssertionError(f"expected {calls} reference entries, got {kept}")

    return body


def plain_body(drive: Callable[[int], None], loops: int) -> Callable[[], None]:
    def body() -> None:
        drive(loops)

    return body


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(
    title: str,
    unit: str,
    stats: dict[str, Stats],
    labels: dict[str, str],
    baseline: str,
    scale: float = 1.0,
    digits: int = 0,
) -> None:
    width = max(len(label) for label in labels.values())
    print(f"{title}")
    print(f"  {'variant':<{width}}  {unit + ' median':>14}  {'min..max':>19}  {'x bare':>7}")
    base = stats[baseline].median
    for key, label in labels.items():
        s = stats[key]
        median = f"{s.median / scale:,.{digits}f}"
        spread = f"{s.min / scale:,.{digits}f}..{s.max / scale:,.{digits}f}"
        print(f"  {label:<{width}}  {median:>14}  {spread:>19}  {s.median / base:>6.2f}x")


# --- sections ------------------------------------------------------------------------------


class Summary:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, target: str, measured: str, result: str) -> None:
        self.rows.append((what, target, measured, result))

    def print(self) -> None:
        widths = [
            max(len(row[i]) for row in [*self.rows, ("check", "target", "measured", "")])
            for i in range(4)
        ]
        header = ("check", "target", "measured", "result")
        for row in [header, *self.rows]:
            print("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def section_tiny(bare: dict[str, Any], inst: dict[str, Any], quick: bool, summary: Summary) -> None:
    print(HEADERS[1])
    calls = 2_000 if quick else 50_000
    rounds = 3 if quick else 15
    loops = calls // UNROLL
    print(
        f"  {calls:,} calls per sample, {rounds} rounds (+1 warm-up), median; "
        f"CPU time via time.process_time_ns\n"
    )

    payloads: list[tuple[str, str, tuple[Any, ...], Callable[..., Any]]] = [
        ("f", "f(1, 2) -- small ints (runtree's immutable fast path)", (1, 2), f_ref_inline),
        (
            "g",
            "g({'x': 1, 'y': 2, 'z': 3}, 'y') -- a small dict (pickled at call time)",
            ({"x": 1, "y": 2, "z": 3}, "y"),
            g_ref_inline,
        ),
    ]
    for name, title, args, inline_fn in payloads:
        bare_fn, inst_fn = bare[name], inst[name]
        assert bare_fn(*args) == inst_fn(*args) == inline_fn(*args)
        _inline_log.clear()
        decorated = ref_track(bare_fn)
        d_bare = make_driver(bare_fn, args, UNROLL)
        d_inst = make_driver(inst_fn, args, UNROLL)
        d_ref = make_driver(decorated, args, UNROLL)
        d_inline = make_driver(inline_fn, args, UNROLL)
        samplers = {
            "a": cpu_sampler(plain_body(d_bare, loops), calls),
            "b": cpu_sampler(plain_body(d_inst, loops), calls),
            "c": cpu_sampler(recorded_body(d_inst, loops, calls, all_steps(calls), calls), calls),
            "c'": cpu_sampler(
                recorded_body(d_inst, loops, calls, all_steps(calls), calls), calls, gc_off=True
            ),
            "e": cpu_sampler(recorded_body(d_inst, loops, calls, 1, 1), calls),
            "d": cpu_sampler(reference_body(d_ref, loops, decorated.log, calls), calls),  # type: ignore[attr-defined]
            "d'": cpu_sampler(reference_body(d_inline, loops, _inline_log, calls), calls),
            "d''": cpu_sampler(
                reference_body(d_ref, loops, decorated.log, calls),
                calls,  # type: ignore[attr-defined]
                gc_off=True,
            ),
        }
        stats = interleave(samplers, rounds)
        labels = {
            "a": "(a)   bare",
            "b": "(b)   instrumented, outside a recording",
            "c": "(c)   instrumented, recorded (every call a step)",
            "c'": "(c')  recorded, GC disabled [diagnostic]",
            "e": "(e)   recorded past step_budget (aggregated)",
            "d": "(d)   reference tracker, decorator",
            "d'": "(d')  reference tracker, inlined",
            "d''": "(d'') reference decorator, GC disabled [diagnostic]",
        }
        print_table(title, "ns/call", stats, labels, "a")
        outside = stats["b"].median - stats["a"].median
        ratio = stats["c"].median / stats["d"].median
        ratio_inline = stats["c"].median / stats["d'"].median
        ratio_nogc = stats["c'"].median / stats["d''"].median
        print(
            f"  -> overhead outside a recording: {outside:+.0f} ns/call over bare "
            f"(target <= +{OUTSIDE_TARGET_NS} ns): {verdict(outside <= OUTSIDE_TARGET_NS)}"
        )
        print(
            f"  -> recorded / reference decorator: {ratio:.2f}x "
            f"(target <= {RATIO_TARGET:.2f}x): {verdict(ratio <= RATIO_TARGET)}"
        )
        print(
            f"  -> recorded / reference inlined: {ratio_inline:.2f}x; "
            f"with GC disabled, recorded / decorator: {ratio_nogc:.2f}x [diagnostic]"
        )
        gc_share = stats["c"].median - stats["c'"].median
        print(f"  -> GC share of the recorded cost: {gc_share:,.0f} ns/call [diagnostic]\n")
        summary.add(
            f"1. {name}: outside-recording overhead",
            f"<= +{OUTSIDE_TARGET_NS} ns",
            f"{outside:+.0f} ns",
            verdict(outside <= OUTSIDE_TARGET_NS),
        )
        summary.add(
            f"1. {name}: recorded / reference",
            f"<= {RATIO_TARGET:.2f}x",
            f"{ratio:.2f}x ({stats['c'].median:,.0f} vs {stats['d'].median:,.0f} ns)",
            verdict(ratio <= RATIO_TARGET),
        )

    # Sanity: a recorded call really captured its inputs and output (outside any timing).
    with runtree.record() as rec:
        inst["g"]({"x": 1, "y": 2, "z": 3}, "y")
    step = rec.steps[0]
    inputs = {k: v.preview for k, v in step.inputs.items()}
    output = step.output.preview if step.output is not None else None
    print(
        f"  sanity: recorded step {step.name}: inputs={inputs} output={output} "
        f"status={step.status}\n"
    )


def section_parent(
    bare: dict[str, Any], inst: dict[str, Any], quick: bool, summary: Summary
) -> None:
    print(HEADERS[2])
    parents = 20 if quick else 500
    rounds = 3 if quick else 15
    steps = parents * 101
    print(
        f"  parent(100) calls child(i) 100 times; {parents:,} parent calls per sample, "
        f"{rounds} rounds (+1 warm-up); CPU µs per parent call (= 101 calls)\n"
    )
    d_bare = make_driver(bare["parent"], (100,), 1)
    d_inst = make_driver(inst["parent"], (100,), 1)
    samplers = {
        "bare": cpu_sampler(plain_body(d_bare, parents), parents),
        "outside": cpu_sampler(plain_body(d_inst, parents), parents),
        "recorded": cpu_sampler(
            recorded_body(d_inst, parents, steps, all_steps(steps), steps), parents
        ),
        "aggregated": cpu_sampler(recorded_body(d_inst, parents, steps, 1, 1), parents),
    }
    stats = interleave(samplers, rounds)
    labels = {
        "bare": "bare",
        "outside": "instrumented, outside a recording",
        "recorded": "recorded (101 steps per parent call)",
        "aggregated": "recorded past step_budget (aggregated)",
    }
    print_table("parent(100)", "µs/parent", stats, labels, "bare", scale=1000.0, digits=1)
    ratio = stats["recorded"].median / stats["bare"].median
    per_call = (stats["recorded"].median - stats["bare"].median) / 101
    print(f"  -> recorded / bare: {ratio:.1f}x, i.e. {per_call:,.0f} ns added per call\n")
    summary.add(
        "2. parent(100): recorded / bare",
        "(info)",
        f"{ratio:.1f}x ({stats['recorded'].median / 1000:,.1f} vs "
        f"{stats['bare'].median / 1000:,.1f} µs)",
        "info",
    )


def _read_peak_rss_kb() -> tuple[int, str]:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), "VmHWM"
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there, KiB on Linux
        peak //= 1024
    return int(peak), "ru_maxrss"


def child_recursive(mode: str, n: int) -> None:
    """Runs in a fresh process: walk(n), bare or recorded; prints one JSON line."""
    namespace = load_workload(instrumented=mode == "recorded")
    walk = namespace["walk"]
    info: dict[str, Any] = {"mode": mode, "n": n}
    start_cpu = process_time_ns()
    start = perf_counter_ns()
    if mode == "recorded":
        with runtree.record() as rec:
            result = walk(n)
        info["wall_ns"] = perf_counter_ns() - start
        info["cpu_ns"] = process_time_ns() - start_cpu
        aggregates = list(rec.aggregates)
        for step in rec.steps:
            aggregates.extend(getattr(step, "aggregates", {}).values())
        pending = list(aggregates)  # rows under rows: calls made by aggregated calls
        while pending:
            nested = pending.pop().own_children()
            aggregates.extend(nested)
            pending.extend(nested)
        rendered = rec.render()
        info["steps"] = len(rec)
        info["step_budget"] = rec.step_budget
        info["aggregated"] = sum(a.count for a in aggregates)
        info["errors"] = sum(a.errors for a in aggregates) + sum(
            1 for s in rec.steps if s.status != "completed"
        )
        info["aggregate_lines"] = [
            line.lstrip("│├└─ ") for line in rendered.splitlines() if TIMES in line
        ]
        info["render_lines"] = rendered.count("\n") + 1
    else:
        result = walk(n)
        info["wall_ns"] = perf_counter_ns() - start
        info["cpu_ns"] = process_time_ns() - start_cpu
    info["result"] = result
    info["peak_rss_kb"], info["peak_source"] = _read_peak_rss_kb()
    print(json.dumps(info))


def run_child(mode: str, n: int) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-recursive",
        mode,
        "--n",
        str(n),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def section_recursive(
    bare: dict[str, Any], inst: dict[str, Any], quick: bool, summary: Summary
) -> None:
    print(HEADERS[3])
    n = 20_000 if quick else 1_000_000
    rounds = 1 if quick else 5
    print(
        f"  walk({n:,}) makes exactly {n:,} calls; default step_budget; {rounds} rounds "
        f"(+1 warm-up), median\n"
    )

    def timed(fn: Callable[[int], int], recorded: bool) -> Sampler:
        def sample() -> float:
            start_cpu = process_time_ns()
            start = perf_counter_ns()
            if recorded:
                with runtree.record():
                    result = fn(n)
            else:
                result = fn(n)
            wall = perf_counter_ns() - start
            cpu_ns[recorded].append(process_time_ns() - start_cpu)
            if result != n:
                raise AssertionError(f"walk({n}) returned {result}")
            return float(wall)

        return sample

    cpu_ns: dict[bool, list[int]] = {False: [], True: []}
    stats = interleave(
        {"bare": timed(bare["walk"], False), "recorded": timed(inst["walk"], True)}, rounds
    )
    cpu_bare = statistics.median(cpu_ns[False][1:] or cpu_ns[False])
    cpu_rec = statistics.median(cpu_ns[True][1:] or cpu_ns[True])
    wall_bare, wall_rec = stats["bare"].median, stats["recorded"].median
    print(f"  {'':<10}{'wall median':>14}{'min..max':>22}{'CPU median':>14}")
    for label, key, cpu in (("bare", "bare", cpu_bare), ("recorded", "recorded", cpu_rec)):
        s = stats[key]
        spread = f"{s.min / 1e6:,.0f}..{s.max / 1e6:,.0f} ms"
        print(f"  {label:<10}{s.median / 1e6:>11,.0f} ms{spread:>22}{cpu / 1e6:>11,.0f} ms")
    print(
        f"  -> recorded / bare: {wall_rec / wall_bare:.1f}x wall, "
        f"{cpu_rec / cpu_bare:.1f}x CPU; {(wall_rec - wall_bare) / n:,.0f} ns added per call\n"
    )

    print("  peak RSS, each in a fresh child process:")
    child_bare = run_child("bare", n)
    child_rec = run_child("recorded", n)
    rss_bare = child_bare["peak_rss_kb"] * 1024 / 1e6
    rss_rec = child_rec["peak_rss_kb"] * 1024 / 1e6
    children_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"    bare     {rss_bare:8.1f} MB  ({child_bare['peak_source']}; walk "
        f"{child_bare['wall_ns'] / 1e6:,.0f} ms)"
    )
    print(
        f"    recorded {rss_rec:8.1f} MB  ({child_rec['peak_source']}; walk "
        f"{child_rec['wall_ns'] / 1e6:,.0f} ms; +{rss_rec - rss_bare:.1f} MB over bare)"
    )
    print(f"    cross-check: RUSAGE_CHILDREN ru_maxrss = {children_max * 1024 / 1e6:.1f} MB")
    rss_ok = rss_rec <= RSS_TARGET_MB
    print(
        f"  -> recorded peak RSS {rss_rec:.1f} MB (target <= {RSS_TARGET_MB} MB): "
        f"{verdict(rss_ok)}\n"
    )

    lines = child_rec["aggregate_lines"]
    print(f"  rendered tree: {child_rec['render_lines']:,} lines, {len(lines)} aggregate line(s):")
    shown = (
        lines if len(lines) <= 8 else [*lines[:3], f"... {len(lines) - 5} more ...", *lines[-2:]]
    )
    for line in shown:
        print(f"    {line}")
    total = child_rec["steps"] + child_rec["aggregated"]
    complete = total == n and child_rec["result"] == n and child_rec["errors"] == 0
    print(
        f"  -> {child_rec['steps']:,} steps (budget {child_rec['step_budget']:,}) + "
        f"{child_rec['aggregated']:,} aggregated = {total:,} calls; walk returned "
        f"{child_rec['result']:,}; {child_rec['errors']} errors: "
        f"{'nothing lost' if complete else 'MISMATCH'}\n"
    )
    summary.add(
        f"3. walk({n:,}) recorded: peak RSS",
        f"<= {RSS_TARGET_MB} MB",
        f"{rss_rec:.1f} MB (bare {rss_bare:.1f})",
        verdict(rss_ok),
    )
    summary.add(
        f"3. walk({n:,}): steps + aggregated == calls",
        "exact, 0 errors",
        f"{total:,}",
        verdict(complete),
    )
    summary.add(
        f"3. walk({n:,}): recorded / bare wall",
        f"<= {WALL_RATIO_TARGET:.2f}x",
        f"{wall_rec / wall_bare:.2f}x ({wall_rec / 1e6:,.0f} vs {wall_bare / 1e6:,.0f} ms)",
        verdict(wall_rec <= WALL_RATIO_TARGET * wall_bare),
    )


class Holder:
    """Two fields: an unpicklable ``_thread.lock`` in one variant, an int in the other."""

    def __init__(self, item: Any) -> None:
        self.item = item
        self.n = 1


def module_level_function(x: int) -> int:
    return x


def _local_partial() -> functools.partial[int]:
    def local_function(x: int) -> int:
        return x

    return functools.partial(local_function, 1)


def _recorded_per_call(drive: Callable[[int], None], calls: int) -> Sampler:
    def sample() -> float:
        start = process_time_ns()
        with runtree.record():
            drive(calls)
        return (process_time_ns() - start) / calls

    return sample


def section_large(
    bare: dict[str, Any], inst: dict[str, Any], quick: bool, summary: Summary
) -> None:
    print(HEADERS[4])
    size = (1 if quick else 10) * 1024 * 1024
    calls = 1 if quick else 5
    rounds = 1 if quick else 9
    item = 128
    budget = 64 * 1024
    strings = f"{size // item:,} str of {item} chars ({size / 2**20:.0f} MiB)"
    payloads: dict[str, Any] = {
        "10,000 ints (baseline)": list(range(10_000)),
        "1,000,000 ints": list(range(1_000_000)),
        strings: [f"{i:08d}".ljust(item, "x") for i in range(size // item)],
        f"bytes of {size / 2**20:.0f} MiB": b"x" * size,
    }
    print(
        f"  consume(data) returns len(data); {calls} calls per recording, {rounds} rounds "
        f"(+1 warm-up), median; CPU us per recorded call\n"
    )
    samplers = {
        title: _recorded_per_call(make_driver(inst["consume"], (data,), 1), calls)
        for title, data in payloads.items()
    }
    samplers["bare, 1,000,000 ints"] = cpu_sampler(
        plain_body(make_driver(bare["consume"], (payloads["1,000,000 ints"],), 1), calls), calls
    )
    stats = interleave(samplers, rounds)
    base = stats["10,000 ints (baseline)"].median
    for title, stat in stats.items():
        print(f"  {title:<42} {stat.median / 1e3:10.1f} us  ({stat.median / base:.2f}x baseline)")
    for title, data in payloads.items():
        with runtree.record() as rec:
            inst["consume"](data)
        start = process_time_ns()
        captured = rec.steps[0].inputs["data"]
        realize_us = (process_time_ns() - start) / 1e3
        shown = captured.to_dict()
        preview = json.dumps(shown.pop("preview"), ensure_ascii=False)
        print(
            f"  {title}: read (realize) {realize_us:.0f} us; {shown}; preview "
            f"{len(preview):,} chars"
        )
        if title.startswith("10,000"):
            ok = not captured.truncated and captured.blob is not None
        elif isinstance(data, bytes):
            ok = (
                captured.truncated
                and captured.blob is None
                and captured.size == len(data)
                and captured.sha256 is None
            )  # no digest past 1 MiB: never of a prefix
        else:
            ok = (
                captured.truncated
                and captured.blob is None
                and captured.size > budget
                and captured.sha256 is None
                and "more than" in (captured.warning or "")
            )
        summary.add(
            f"4. {title}: captured", "truncated/marked right", str(captured.truncated), verdict(ok)
        )
    for title in ("1,000,000 ints", strings):
        ratio = stats[title].median / base
        summary.add(
            f"4. recorded f(x), x = {title.split(' (')[0]}",
            "<= 2.0x 10,000 ints",
            f"{ratio:.2f}x",
            verdict(ratio <= 2.0),
        )

    print("\n  Unpicklable arguments, from the second call on (a type that failed is learnt):")
    variants = {
        "Holder(int)": Holder(1),
        "Holder(lock)": Holder(threading.Lock()),
        "partial(module-level function)": functools.partial(module_level_function, 1),
        "partial(local function)": _local_partial(),
    }
    many = 20 if quick else 200
    samplers = {
        title: _recorded_per_call(make_driver(inst["consume2"], (value,), 1), many)
        for title, value in variants.items()
    }
    stats = interleave(samplers, rounds)
    for title, stat in stats.items():
        print(f"  {title:<42} {stat.median / 1e3:10.2f} us")
    for bad, good in (
        ("Holder(lock)", "Holder(int)"),
        ("partial(local function)", "partial(module-level function)"),
    ):
        ratio = stats[bad].median / stats[good].median
        summary.add(
            f"4. recorded f(x), x = {bad}", f"<= 5x {good}", f"{ratio:.2f}x", verdict(ratio <= 5.0)
        )
    with runtree.record() as rec:
        inst["consume2"](variants["Holder(lock)"])
    note = rec.steps[0].inputs["data"].warning
    print(f"  Holder(lock) captured with the note: {note!r}\n")


# --- main ----------------------------------------------------------------------------------


def _git_revision() -> str:
    """``, commit abc1234`` (``+ local changes in src``), or nothing outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    return f", commit {head.strip()}" + (" + local changes in src" if dirty.strip() else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run (tiny sizes)")
    parser.add_argument(
        "--child-recursive",
        choices=("bare", "recorded"),
        help="only run walk(N) once in this process, bare or recorded, and print one JSON line: "
        "wall and CPU ns, peak RSS, and (recorded) steps + aggregated calls (section 3's child; "
        "the README's 10,000,000-call figures come from it)",
    )
    parser.add_argument(
        "--n", type=int, default=1_000_000, metavar="N", help="calls for --child-recursive"
    )
    args = parser.parse_args(argv)
    if args.child_recursive:
        child_recursive(args.child_recursive, args.n)
        return 0

    clock = time.get_clock_info("process_time")
    revision = _git_revision()
    print(
        "runtree tracking overhead benchmark"
        + (" (--quick: smoke run, numbers are not meaningful)" if args.quick else "")
    )
    print(
        f"  runtree {runtree.__version__}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.platform()}, "
        f"{os.cpu_count()} CPUs{revision}"
    )
    print(
        f"  tracking hooks: {accelerator.describe()['detail']} "
        f"({accelerator.RUNTIME_ENV}=python|c to choose)"
    )
    print(
        f"  process_time clock: {clock.implementation}, resolution {clock.resolution * 1e9:g} ns;"
        f" gc thresholds {gc.get_threshold()}\n"
    )

    bare = load_workload(instrumented=False)
    inst = load_workload(instrumented=True)
    summary = Summary()
    started = perf_counter_ns()
    section_tiny(bare, inst, args.quick, summary)
    section_parent(bare, inst, args.quick, summary)
    section_recursive(bare, inst, args.quick, summary)
    section_large(bare, inst, args.quick, summary)
    print(HEADERS[5])
    summary.print()
    print(f"\n  (informational only; total run time {(perf_counter_ns() - started) / 1e9:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
