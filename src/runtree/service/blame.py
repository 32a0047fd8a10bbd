"""Version-aware performance blame: which call paths got slower (or started failing) from one
set of runs to another, and the source changes on them. Pure (no I/O).

**Samples.** One sample per run in which a path ran: the path's own time in that run
(summed over its calls, :mod:`.call_paths`). Calls inside one run are not independent
samples; runs are. Own time is what is tested, because it puts the blame where the time is
spent: a helper that sleeps is flagged, not every caller above it (their *total* times,
also reported, grow with it).

**Test.** Mann-Whitney U (two-sided, ``scipy.stats.mannwhitneyu``) between the two
versions' samples of a path. Chosen over a bootstrap confidence interval of the median
ratio because it makes no assumption about the shape of latency distributions (skewed,
heavy-tailed, often multi-modal), is exact for small samples, is deterministic (no
resampling seed), and asks exactly "does a run of the new version take longer on this path
than a run of the old one more often than not". The median ratio new/old is reported as the
effect size. p-values are adjusted over all the paths tested with Benjamini-Hochberg
(``scipy.stats.false_discovery_control``), since many paths are tested at once.

**Flagging rule.** A path is flagged ``slower`` (or ``faster``) when it ran in at least
:data:`MIN_RUNS` runs of *each* version, its adjusted p-value is below :data:`ALPHA`, its
median own time changed by at least the factor :data:`MIN_RATIO`, and by at least
:data:`MIN_DELTA_NS` in absolute terms (so that a 2 µs → 3 µs wobble is never a
regression). With fewer runs the distributions are shown and the path is marked
``untested``.

**Errors.** A path *fails* in a run when one of its steps raised there (not when it only
passed on a recorded child's exception). Flagged when it fails in some runs of the new
version and either never failed in the old one (over at least :data:`MIN_RUNS` runs, or it
did not exist there) -- "now fails in 12% of runs, was 0%" -- or fails more often by a
one-sided Fisher exact test below :data:`ALPHA`. Rates are over the runs that reached the
path.

**Hunks.** For each flagged path, the unified-diff hunks, between the versions each side
used, of the deployed functions its steps belong to, kept when they touch the definition of
a function on the path (a hunk elsewhere in the same file is left out).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from .call_paths import PathRun, PathTable, Run, sum_runs
from .explore import percentile

MIN_RUNS = 8
ALPHA = 0.01
MIN_RATIO = 1.2
MIN_DELTA_NS = 100_000  # 0.1 ms
MAX_PATHS = 200
CONTEXT_LINES = 3
_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclasses.dataclass(frozen=True, slots=True)
class Distribution:
    """One path over one version's runs: ``runs`` that reached it (n), own and total time
    per run (p50, p95, ns), calls per run (median), runs in which it failed."""

    runs: int
    self_p50_ns: int
    self_p95_ns: int
    total_p50_ns: int
    total_p95_ns: int
    calls_p50: int
    failures: int

    @property
    def failure_rate(self) -> float:
        return self.failures / self.runs if self.runs else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class Hunk:
    """One hunk of ``function``'s source diff between two versions; ``touches`` names the
    functions on the path whose definitions it overlaps."""

    function: str
    from_version: int
    to_version: int
    header: str
    lines: list[str]
    touches: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorFlag:
    old_rate: float
    new_rate: float
    new: bool  # never failed before
    p_value: float | None
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class PathBlame:
    """One call path: its distributions in each version (``None`` where it never ran), the
    test (``p_value`` adjusted; ``None`` when untested), the median own-time ratio new/old,
    the ``verdict`` (``slower``, ``faster`` or ``None``), an error flag, and the hunks of the
    functions on it (flagged paths only)."""

    path: list[str]
    functions: list[str | None]
    old: Distribution | None
    new: Distribution | None
    tested: bool
    p_value: float | None
    ratio: float | None
    verdict: str | None
    errors: ErrorFlag | None
    hunks: list[Hunk]

    @property
    def flagged(self) -> bool:
        return self.verdict is not None or self.errors is not None


@dataclasses.dataclass(frozen=True, slots=True)
class BlameReport:
    """Paths flagged first (slower by ratio, then new errors, then faster), then the rest by
    new own time; at most :data:`MAX_PATHS` (``more`` counts the ones left out)."""

    old_runs: int
    new_runs: int
    paths: list[PathBlame]
    more: int
    old_versions: dict[str, int]
    new_versions: dict[str, int]


def group_versions(runs: Sequence[Run]) -> dict[str, int]:
    """``namespace/name`` -> the version most of these runs resolved it to."""
    counts: dict[str, Counter[int]] = {}
    for run in runs:
        namespace = run.execution.namespace
        for name, version in run.execution.versions.items():
            counts.setdefault(f"{namespace}/{name}", Counter())[version] += 1
    return {function: c.most_common(1)[0][0] for function, c in sorted(counts.items())}


def _distribution(samples: list[PathRun]) -> Distribution:
    own = [s.self_ns for s in samples]
    total = [s.total_ns for s in samples]
    return Distribution(
        runs=len(samples),
        self_p50_ns=percentile(own, 50) or 0,
        self_p95_ns=percentile(own, 95) or 0,
        total_p50_ns=percentile(total, 50) or 0,
        total_p95_ns=percentile(total, 95) or 0,
        calls_p50=percentile([s.calls for s in samples], 50) or 0,
        failures=sum(1 for s in samples if s.failed),
    )


def _p_value(old: list[int], new: list[int]) -> float:
    if len(set(old) | set(new)) == 1:
        return 1.0  # every sample equal: nothing to test
    from scipy import stats  # imported when a comparison is made: ~0.3 s on a quiet machine

    return float(stats.mannwhitneyu(new, old, alternative="two-sided").pvalue)


def _error_flag(name: str, old: Distribution | None, new: Distribution) -> ErrorFlag | None:
    if new.failures == 0:
        return None
    old_failures = old.failures if old else 0
    old_runs = old.runs if old else 0
    old_rate = old.failure_rate if old else 0.0
    if new.failure_rate <= old_rate:
        return None
    p_value = None
    if old_failures == 0:
        if 0 < old_runs < MIN_RUNS:
            return None
        is_new = True
    else:
        table = [[new.failures, new.runs - new.failures], [old_failures, old_runs - old_failures]]
        from scipy import stats

        p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
        if p_value >= ALPHA:
            return None
        is_new = False
    message = f"{name} now fails in {new.failure_rate:.0%} of runs, was {old_rate:.0%}"
    return ErrorFlag(
        old_rate=old_rate, new_rate=new.failure_rate, new=is_new, p_value=p_value, message=message
    )


def blame(
    old_runs: Sequence[Run],
    new_runs: Sequence[Run],
    sources: Mapping[tuple[str, int], str] | None = None,
) -> BlameReport:
    """Compare two sets of runs path by path (see the module docstring). ``sources`` maps
    ``(namespace/name, version)`` to source, for the hunks of flagged paths."""
    table = PathTable()
    old_sums, new_sums = sum_runs(table, old_runs), sum_runs(table, new_runs)
    old_versions, new_versions = group_versions(old_runs), group_versions(new_runs)
    samples: dict[int, tuple[list[PathRun], list[PathRun]]] = {}
    for side, runs in ((0, old_sums), (1, new_sums)):
        for sums in runs:
            for path, entry in sums.items():
                samples.setdefault(path, ([], []))[side].append(entry)
    tested = [
        path
        for path, (old, new) in samples.items()
        if len(old) >= MIN_RUNS and len(new) >= MIN_RUNS
    ]
    raw = [
        _p_value([s.self_ns for s in samples[p][0]], [s.self_ns for s in samples[p][1]])
        for p in tested
    ]
    adjusted = dict(zip(tested, _adjust(raw), strict=True))
    results: list[PathBlame] = []
    for path, (old_samples, new_samples) in samples.items():
        old = _distribution(old_samples) if old_samples else None
        new = _distribution(new_samples) if new_samples else None
        p_value = adjusted.get(path)
        ratio = None
        if old is not None and new is not None and old.self_p50_ns > 0:
            ratio = new.self_p50_ns / old.self_p50_ns
        verdict = _verdict(p_value, old, new, ratio)
        names = table.names(path)
        errors = None if new is None else _error_flag(names[-1].rsplit(".", 1)[-1], old, new)
        functions = [table.function[p] for p in table.chain(path)]
        hunks: list[Hunk] = []
        if (verdict is not None or errors is not None) and sources is not None:
            hunks = path_hunks(names, functions, old_versions, new_versions, sources)
        results.append(
            PathBlame(
                path=names,
                functions=functions,
                old=old,
                new=new,
                tested=p_value is not None,
                p_value=p_value,
                ratio=ratio,
                verdict=verdict,
                errors=errors,
                hunks=hunks,
            )
        )
    results.sort(key=_rank)
    return BlameReport(
        old_runs=len(old_runs),
        new_runs=len(new_runs),
        paths=results[:MAX_PATHS],
        more=max(0, len(results) - MAX_PATHS),
        old_versions=old_versions,
        new_versions=new_versions,
    )


def _verdict(
    p_value: float | None, old: Distribution | None, new: Distribution | None, ratio: float | None
) -> str | None:
    if p_value is None or p_value >= ALPHA or old is None or new is None:
        return None
    if abs(new.self_p50_ns - old.self_p50_ns) < MIN_DELTA_NS:
        return None
    if ratio is None or ratio >= MIN_RATIO:  # no ratio: the old median was 0, the new is not
        return "slower"
    if ratio <= 1 / MIN_RATIO:
        return "faster"
    return None


def _adjust(p_values: list[float]) -> list[float]:
    if not p_values:
        return []
    from scipy import stats

    return [float(p) for p in stats.false_discovery_control(p_values, method="bh")]


def _rank(item: PathBlame) -> tuple[int, float, list[str]]:
    own = item.new.self_p50_ns if item.new else 0
    if item.verdict == "slower":
        return (0, -(item.ratio or 0.0), item.path)
    if item.errors is not None:
        return (1, -item.errors.new_rate, item.path)
    if item.verdict == "faster":
        return (2, item.ratio or 0.0, item.path)
    return (3, -own, item.path)


# --- hunks ----------------------------------------------------------------------------------


def definitions(source: str) -> dict[str, tuple[int, int]]:
    """Qualified name (``outer.<locals>.inner``, ``Class.method``) -> first and last line of
    every function definition in ``source`` (decorators included); empty if it does not
    parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, tuple[int, int]] = {}
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + child.name
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found[name] = (start, child.end_lineno or child.lineno)
                stack.append((child, name + ".<locals>."))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, prefix + child.name + "."))
            else:
                stack.append((child, prefix))
    return found


def _hunks(old: str, new: str) -> list[tuple[str, list[str], tuple[int, int], tuple[int, int]]]:
    """``(header, lines, old range, new range)`` of each hunk of ``diff -u``."""
    diff = list(
        difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=CONTEXT_LINES)
    )
    hunks: list[tuple[str, list[str], tuple[int, int], tuple[int, int]]] = []
    for line in diff[2:]:
        match = _HUNK_HEADER.match(line)
        if match:
            a, b = int(match[1]), int(match[2] or 1)
            c, d = int(match[3]), int(match[4] or 1)
            hunks.append((line, [], (a, a + max(b, 1) - 1), (c, c + max(d, 1) - 1)))
        elif hunks:
            hunks[-1][1].append(line)
    return hunks


def _overlaps(span: tuple[int, int], other: tuple[int, int]) -> bool:
    return span[0] <= other[1] and other[0] <= span[1]


def function_hunks(
    function: str, from_version: int, to_version: int, old: str, new: str, names: Sequence[str]
) -> list[Hunk]:
    """The hunks of ``function``'s diff that touch a definition of one of ``names`` (step
    names: qualified names in that source), each with the names it touches; every hunk when
    none of the names is defined there."""
    old_defs, new_defs = definitions(old), definitions(new)
    wanted = [n for n in dict.fromkeys(names) if n in old_defs or n in new_defs]
    kept: list[Hunk] = []
    for header, lines, old_span, new_span in _hunks(old, new):
        touches = [
            n
            for n in wanted
            if (n in old_defs and _overlaps(old_span, old_defs[n]))
            or (n in new_defs and _overlaps(new_span, new_defs[n]))
        ]
        if touches or not wanted:
            kept.append(Hunk(function, from_version, to_version, header, lines, touches))
    return kept


def path_hunks(
    names: Sequence[str],
    functions: Sequence[str | None],
    old_versions: Mapping[str, int],
    new_versions: Mapping[str, int],
    sources: Mapping[tuple[str, int], str],
) -> list[Hunk]:
    """Hunks of the deployed functions along a path whose versions differ between the two
    sides (see :func:`function_hunks`)."""
    by_function: dict[str, list[str]] = {}
    for name, function in zip(names, functions, strict=True):
        if function is not None:
            by_function.setdefault(function, []).append(name)
    hunks: list[Hunk] = []
    for function, frame_names in by_function.items():
        before, after = old_versions.get(function), new_versions.get(function)
        if before is None or after is None or before == after:
            continue
        old, new = sources.get((function, before)), sources.get((function, after))
        if old is None or new is None:
            continue
        hunks.extend(function_hunks(function, before, after, old, new, frame_names))
    return hunks


def report_document(report: BlameReport) -> dict[str, Any]:
    """The report as JSON-ready data (what the API returns and ``blame --json`` prints)."""
    return {
        "old_runs": report.old_runs,
        "new_runs": report.new_runs,
        "old_versions": report.old_versions,
        "new_versions": report.new_versions,
        "rules": {
            "min_runs": MIN_RUNS,
            "alpha": ALPHA,
            "min_ratio": MIN_RATIO,
            "min_delta_ns": MIN_DELTA_NS,
            "test": "mann-whitney-u",
            "adjustment": "benjamini-hochberg",
        },
        "more": report.more,
        "paths": [
            {
                "path": item.path,
                "functions": item.functions,
                "old": None if item.old is None else dataclasses.asdict(item.old),
                "new": None if item.new is None else dataclasses.asdict(item.new),
                "tested": item.tested,
                "p_value": item.p_value,
                "ratio": item.ratio,
                "verdict": item.verdict,
                "errors": None if item.errors is None else dataclasses.asdict(item.errors),
                "hunks": [dataclasses.asdict(h) for h in item.hunks],
            }
            for item in report.paths
        ],
    }
