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
connection; if it imports none of :data:`CLOCK_AND_RANDOMNESS_MODULES` either, it cannot
read the wall clock or draw random values. Code that also imports the standard library's
modules for input and output that no recording captures (:data:`UNRECORDED_IO_MODULES`:
files, databases, raw sockets, subprocesses, threads) reaches the clock and randomness at
most: those modules cannot make a request through a client the HTTP recording patches, so
recording its run with the clients patched would add nothing to its recording but cost.
``os``, ``sys``, ``time``, ``urllib`` and ``logging`` are judged by how they are used
(:data:`SCOPED_MODULES`): ``os.environ``, ``os.path``, ``sys.argv``, ``urllib.parse`` or
``time.perf_counter()`` reach nothing, ``os.urandom``, ``time.time()`` and
``logging.getLogger`` the clock and randomness, ``logging.handlers`` (its ``HTTPHandler``)
and ``logging.config`` (it imports classes by name) and anything else of ``os``, ``sys``
and ``urllib`` (``os.system``, ``sys.modules``, ``urllib.request``, the module passed on)
everything. Anything else -- any other import, third-party or not (``http``,
``importlib``, ``pickle``, ``xml``, ``requests`` ...), a relative import -- is taken to
reach everything. The answer is conservative for code written to do its work, not a proof
against code written to evade it: code that goes out of its way to reach a module it did
not import (through a listed module's private attributes, or an object's
``__subclasses__``) could read or fetch what the recording does not see, as a
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

# Standard-library modules for input and output that no recording captures (README, "Not
# captured": files, databases, raw sockets, subprocesses, threads' timing) and that neither
# import an HTTP client the recording patches nor import or run code given by name. They
# may read the clock (a log record's time, a file's time written into an archive), so code
# importing them records the clock and randomness; a request needs a client (``http``,
# ``urllib.request``, ``xml.sax`` fetching a URL, a third-party package), or a subprocess or
# raw socket, whose traffic no zygote records.
UNRECORDED_IO_MODULES = frozenset(
    {
        "asyncio",
        "bz2",
        "configparser",
        "csv",
        "email",
        "errno",
        "filecmp",
        "fileinput",
        "fnmatch",
        "glob",
        "gzip",
        "html",
        "io",
        "ipaddress",
        "lzma",
        "mimetypes",
        "pathlib",
        "queue",
        "select",
        "selectors",
        "shlex",
        "shutil",
        "signal",
        "socket",
        "sqlite3",
        "ssl",
        "stat",
        "subprocess",
        "tarfile",
        "tempfile",
        "threading",
        "tomllib",
        "traceback",
        "zipfile",
    }
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

# Modules that reach the world only through some of their attributes (or submodules):
# module -> (what each attribute reaches, what any other use of the module reaches). ``os``
# for the environment and paths (neither is recorded: README, "Not captured") reaches
# nothing, for ``urandom`` randomness, for anything else (``system``, ``popen``, ``sys``
# ...) everything; ``sys`` likewise for what only reads the interpreter's settings or writes
# the printed output; ``time`` for durations and waits (monotonic clocks are not recorded)
# nothing, for anything else the clock; ``urllib`` for ``parse`` (it only computes) nothing,
# for ``request`` and the rest everything; ``logging`` the clock (a record's time), also
# passed on (as ``getattr``, reaching ``handlers`` through it is going out of one's way),
# but through ``handlers`` (``HTTPHandler`` sends records with ``http.client``) or
# ``config`` (it imports handler classes by name) everything.
_READS_NOTHING = (
    "environ",
    "getenv",
    "path",
    "sep",
    "linesep",
    "pathsep",
    "curdir",
    "pardir",
    "extsep",
    "name",
    "cpu_count",
    "getpid",
)
_SYS_READS_NOTHING = (
    "argv",
    "byteorder",
    "exit",
    "float_info",
    "getrecursionlimit",
    "getsizeof",
    "maxsize",
    "platform",
    "stderr",
    "stdout",
    "version",
    "version_info",
)
SCOPED_MODULES: dict[str, tuple[dict[str, str], str]] = {
    "os": ({**dict.fromkeys(_READS_NOTHING, NONE), "urandom": LOCAL}, HTTP),
    "sys": (dict.fromkeys(_SYS_READS_NOTHING, NONE), HTTP),
    "time": (dict.fromkeys(DURATION_FUNCTIONS, NONE), LOCAL),
    "urllib": ({"parse": NONE}, HTTP),
    "logging": ({"handlers": HTTP, "config": HTTP}, LOCAL),
}

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
    return _most(reach(source) for source in sources)


def _most(reaches: Iterable[str]) -> str:
    found = set(reaches)
    return next((kind for kind in REACHES if kind in found), NONE)


@functools.lru_cache(maxsize=512)
def reach(source: str) -> str:
    """What the module ``source`` can reach (see the module docstring): :data:`NONE` when
    it imports nothing but :data:`COMPUTATION_MODULES` outside
    :data:`CLOCK_AND_RANDOMNESS_MODULES` (and the :data:`SCOPED_MODULES` only for what
    reaches nothing) and names none of :data:`CODE_LOADING_NAMES`; :data:`LOCAL` when it
    also reads the clock or randomness or imports :data:`UNRECORDED_IO_MODULES`; else
    :data:`HTTP`. Source that does not parse
    reaches everything (its run fails on it anyway)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return HTTP
    found = [NONE]
    bound: dict[str, str] = {}  # a name ``import <scoped module>`` bound -> the module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                if top in SCOPED_MODULES and (alias.asname is None or alias.name == top):
                    # ``import os`` (``import os.path`` binds ``os`` too): its uses decide,
                    # and the submodule imported (``import urllib.request``: everything)
                    bound[alias.asname or top] = top
                    if alias.name != top:
                        found.append(_reach_of_module(alias.name))
                else:
                    found.append(_reach_of_module(alias.name))
        elif isinstance(node, ast.ImportFrom):
            if node.level or node.module is None:
                return HTTP
            scoped = SCOPED_MODULES.get(node.module)
            if scoped is None:
                found.append(_reach_of_module(node.module))
            else:  # ``from os import environ``: what each name reaches
                found.extend(scoped[0].get(a.name, scoped[1]) for a in node.names)
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in CODE_LOADING_NAMES:
                return HTTP
    if bound:
        found.extend(_reach_of_uses(tree, bound))
    return _most(found)


def _reach_of_module(module: str) -> str:
    """What importing ``module`` reaches (a submodule of a scoped module, such as
    ``os.path`` or ``logging.handlers``, what its scope says of it)."""
    top, _, rest = module.partition(".")
    scoped = SCOPED_MODULES.get(top)
    if scoped is not None:
        return scoped[0].get(rest.partition(".")[0], scoped[1])
    if top in UNRECORDED_IO_MODULES:
        return LOCAL
    if top not in COMPUTATION_MODULES:
        return HTTP
    return LOCAL if top in CLOCK_AND_RANDOMNESS_MODULES else NONE


def _reach_of_uses(tree: ast.AST, bound: dict[str, str]) -> list[str]:
    """What the scoped modules bound to ``bound``'s names reach by how they are used: each
    ``name.attribute`` what :data:`SCOPED_MODULES` says of it; any other use of a bound
    name (passed on, ``getattr``, a namesake in any scope, which only errs towards
    recording more) what the module reaches as a whole."""
    found: list[str] = []
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and isinstance(node.ctx, ast.Load)
        ):
            attributes, whole = SCOPED_MODULES[bound[node.value.id]]
            found.append(attributes.get(node.attr, whole))
            allowed.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in bound and id(node) not in allowed:
            found.append(SCOPED_MODULES[bound[node.id]][1])
    return found
