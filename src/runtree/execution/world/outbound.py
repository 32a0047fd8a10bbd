"""Whether a run's code can make HTTP requests: which recording zygote runs it.

Recording a run's HTTP needs vcrpy and the HTTP clients it patches in the process that runs
it; a zygote that holds them (about 13 MB more) makes every run it forks dearer, also runs
that make no request (forking, ending and copying a larger process: measured in the README,
"Deterministic replay"). So a recording server keeps two zygotes
(:class:`~runtree.execution.launcher.ZygoteLauncher`): one with the HTTP clients patched,
and one that records the clock and randomness only, for runs whose code cannot reach an
HTTP client. :func:`can_make_requests` tells them apart from the source alone, before the
run, the way a reader would: code that imports nothing but the standard library's
computation modules listed in :data:`COMPUTATION_MODULES`, and that never names a way to
import or run other code (``__import__``, ``exec``, ``eval``, ``compile``,
``__builtins__`` ...), cannot open an HTTP connection. Anything else -- any other import,
third-party or not (``urllib``, ``socket``, ``os``, ``sys``, ``importlib``, ``requests``
...), a relative import -- is taken to be able to, and the run gets the patched clients, as
every recording run did before. The answer is conservative, not a proof: code that goes out
of its way to reach a module it did not import (through a listed module's private
attributes, or an object's ``__subclasses__``) could open a connection the recording does
not see, as a subprocess's or a raw socket's are not seen either (README, "What is not
captured").

The job carries the answer (``world["http"]``, set by
:meth:`~runtree.execution.runner.ExecutionRunner.build_job`); a replay always runs with the
clients patched (its recording's requests must be answered, or reported as not played).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable

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


def can_make_requests_in(sources: Iterable[str]) -> bool:
    """Whether any of ``sources`` (a job's function modules) can make an HTTP request."""
    return any(can_make_requests(source) for source in sources)


@functools.lru_cache(maxsize=512)
def can_make_requests(source: str) -> bool:
    """Whether the module ``source`` can make an HTTP request (see the module docstring):
    ``False`` only when it imports nothing but :data:`COMPUTATION_MODULES` and names none
    of :data:`CODE_LOADING_NAMES`. Source that does not parse counts as able to (its run
    fails on it anyway)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True
    return any(_may_reach_a_client(node) for node in ast.walk(tree))


def _may_reach_a_client(node: ast.AST) -> bool:
    """Whether ``node`` imports something else than computation modules, or names a way to
    load code."""
    if isinstance(node, ast.Import):
        return any(not _computation(alias.name) for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return bool(node.level) or node.module is None or not _computation(node.module)
    if isinstance(node, ast.Name):
        return node.id in CODE_LOADING_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in CODE_LOADING_NAMES
    return False


def _computation(module: str) -> bool:
    return module.partition(".")[0] in COMPUTATION_MODULES
