"""What of the outside world a run's code can reach: which zygote runs it, and what it records.

Recording a run's HTTP needs vcrpy and the HTTP clients it patches in the process that runs
it; recording its clock and randomness needs time-machine's patches and a seeded ``random``.
A zygote that holds them makes every run it forks dearer, also runs that never use them
(forking, warming up and ending a larger process: measured in the README, "Deterministic
replay"). So a recording server keeps up to three zygotes
(:class:`~runtree.execution.zygote_launcher.ZygoteLauncher`), one per :func:`reach`:

* :data:`HTTP` -- the code can make HTTP requests: the zygote with the clients patched (and
  the clock and randomness held), as every recording run had before;
* :data:`LOCAL` -- it cannot make requests but can read the wall clock or draw randomness:
  the zygote that holds only the clock and randomness;
* :data:`NONE` -- it can do neither: the zygote that holds nothing of the world, and a
  recording with nothing in it but a seed (which a replay gives ``random``, unused).

:func:`reach` tells them apart from the source alone, before the run, the way a reader
would. Code that imports nothing but the standard library's computation modules listed in
:data:`COMPUTATION_MODULES`, and that never names a way to import or run other code
(``__import__``, ``exec``, ``eval``, ``compile``, ``__builtins__`` ...), cannot open an HTTP
connection; if it imports none of :data:`CLOCK_AND_RANDOMNESS_MODULES` either (or only
``time``, and uses it only to measure durations or wait: :data:`DURATION_FUNCTIONS`), it
cannot read the wall clock or draw random values. Anything else -- any other import, third-party or
not (``urllib``, ``socket``, ``os``, ``sys``, ``importlib``, ``requests`` ...), a relative
import -- is taken to reach everything. The answer is conservative for code written to do
its work, not a proof against code written to evade it: code that goes out of its way to
reach a module it did not import (through a listed module's private attributes, or an
object's ``__subclasses__``) could read or fetch what the recording does not see, as a
subprocess's or a raw socket's traffic is not seen either (README, "Not captured").

The job carries the answer (``world["reach"]``, set by
:meth:`~runtree.execution.runner.ExecutionRunner.build_job`); a replay always runs with
everything patched (its recording's requests must be answered, or reported as not played).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable

# What a run's code can reach (see the module docstring), from the most to the least.
HTTP = "http"
LOCAL = "local"
NONE = "none"
REACHES = (HTTP, LOCAL, NONE)

# Standard-library modules that compute and do not reach the network, nor import or run
# code given by name: importing only these (or their submodules) cannot make a request.
COMPUTATION_MODULES = frozenset(
    {
        "__future__",
        "abc",
        "array",
        "base64",
        "binascii",
        "bisect",
        "calendar",
        "cmath",
        "collections",
        "colorsys",
        "contextlib",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "enum",
        "fractions",
        "functools",
        "graphlib",
        "hashlib",
        "heapq",
        "hmac",
        "itertools",
        "json",
        "keyword",
        "math",
        "numbers",
        "operator",
        "pprint",
        "random",
        "re",
        "reprlib",
        "secrets",
        "statistics",
        "string",
        "struct",
        "textwrap",
        "time",
        "typing",
        "unicodedata",
        "uuid",
        "zlib",
        "zoneinfo",
    }
)

# The computation modules through which code reads the wall clock or draws randomness
# (statistics draws from random; uuid reads the clock and os.urandom).
CLOCK_AND_RANDOMNESS_MODULES = frozenset(
    {"calendar", "datetime", "random", "secrets", "statistics", "time", "uuid", "zoneinfo"}
)

# What of ``time`` measures durations or waits, never reading the wall clock (monotonic
# clocks are not recorded: README, "Not captured"): code that uses ``time`` only for these
# reaches nothing of the world through it.
DURATION_FUNCTIONS = frozenset(
    {
        "monotonic",
        "monotonic_ns",
        "perf_counter",
        "perf_counter_ns",
        "process_time",
        "process_time_ns",
        "sleep",
        "thread_time",
        "thread_time_ns",
    }
)

# Names through which code can import or run other code without an import statement.
CODE_LOADING_NAMES = frozenset(
    {
        "__import__",
        "__builtins__",
        "__loader__",
        "__spec__",
        "exec",
        "eval",
        "compile",
        "breakpoint",
    }
)


def reach_of(sources: Iterable[str]) -> str:
    """What a job's function modules can reach: the most any of them can."""
    reaches = {reach(source) for source in sources}
    return next((kind for kind in REACHES if kind in reaches), NONE)


@functools.lru_cache(maxsize=512)
def reach(source: str) -> str:
    """What the module ``source`` can reach (see the module docstring): :data:`NONE` when
    it imports nothing but :data:`COMPUTATION_MODULES` outside
    :data:`CLOCK_AND_RANDOMNESS_MODULES` (but ``time`` used only for
    :data:`DURATION_FUNCTIONS`) and names none of :data:`CODE_LOADING_NAMES`; :data:`LOCAL`
    when it also imports some of those; else :data:`HTTP`. Source that does not parse
    reaches everything (its run fails on it anyway)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return HTTP
    found = NONE
    time_names: set[str] = set()  # the names ``import time`` bound
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            for alias in node.names:
                if alias.name == "time":
                    time_names.add(alias.asname or "time")
                    modules.remove("time")  # how it is used decides: below
        elif isinstance(node, ast.ImportFrom):
            if node.level or node.module is None:
                return HTTP
            modules = [node.module]
            if node.module == "time" and all(a.name in DURATION_FUNCTIONS for a in node.names):
                modules = []  # ``from time import perf_counter, sleep``: no wall clock
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in CODE_LOADING_NAMES:
                return HTTP
        for module in modules:
            top = module.partition(".")[0]
            if top not in COMPUTATION_MODULES:
                return HTTP
            if top in CLOCK_AND_RANDOMNESS_MODULES:
                found = LOCAL
    if time_names and found == NONE and _reads_the_wall_clock(tree, time_names):
        found = LOCAL
    return found


def _reads_the_wall_clock(tree: ast.AST, names: set[str]) -> bool:
    """Whether the module ``time``, bound to ``names``, is used for anything but
    :data:`DURATION_FUNCTIONS`: every use of a name it is bound to (in any scope: a
    namesake counts too, which only errs towards recording) must be ``name.<function>``."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in names
            and node.attr in DURATION_FUNCTIONS
            and isinstance(node.ctx, ast.Load)
        ):
            allowed.add(id(node.value))
    return any(
        isinstance(node, ast.Name) and node.id in names and id(node) not in allowed
        for node in ast.walk(tree)
    )
