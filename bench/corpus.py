"""Corpus benchmark: code nobody here wrote, run plain and instrumented inside one recording.

Downloads a few well-known pure-Python packages from PyPI (``pip download``, pinned wheels,
into ``~/.cache/runtree/corpus`` -- outside the repository) and runs every doctest of every
module of each, twice per round, each time in a fresh child process:

* **plain** -- the package's modules compiled from source as they are;
* **instrumented** -- each module's source through ``runtree.instrument`` (a meta path finder
  loads them), and the whole run -- imports and doctests -- inside one ``runtree.record()``
  with the default budgets, as a long platform execution would be.

It prints CPU time per module (its doctests, run after every module was imported: the time to
instrument and import them is shown apart, the platform pays it once per deploy) and per
package, the ratios instrumented / plain (medians over rounds), the time to read the
recording back (``to_dict()``: every step's values realized), and every doctest example that
passes plainly but fails or times out instrumented.
Targets (issue 14): total CPU ratio <= 1.5x, no module above 5x (modules whose doctests take
under 10 ms plainly are listed but too small to time), no example that passes plainly failing.

    .venv/bin/python bench/corpus.py            # 3 rounds; --quick: 1 round
    .venv/bin/python bench/corpus.py --cache DIR --package toolz
"""

from __future__ import annotations

import argparse
import doctest
import importlib.abc
import importlib.machinery
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import types
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PACKAGES = {  # import name -> pinned requirement (pure-Python wheels with many doctests)
    "more_itertools": "more-itertools==11.2.1",
    "toolz": "toolz==1.2.0",
    "boltons": "boltons==26.2.0",
    "tabulate": "tabulate==0.10.0",
}
EXAMPLE_TIMEOUT_S = 30  # per doctest (a docstring's examples), instrumented or not
SMALL_MS = 10.0
TOTAL_TARGET = 1.5
MODULE_TARGET = 5.0


# --- preparing the corpus ------------------------------------------------------------------


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runtree" / "corpus"


def prepare(cache: Path, packages: Sequence[str]) -> Path:
    """Download the pinned wheels (once) and extract them under ``cache/src``."""
    wheels = cache / "wheels"
    source = cache / "src"
    wheels.mkdir(parents=True, exist_ok=True)
    missing = [PACKAGES[name] for name in packages if not (source / name).is_dir()]
    if missing:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-d",
                str(wheels),
                *missing,
            ],
            check=True,
        )
        for wheel in wheels.glob("*.whl"):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(source)
    return source


# --- the child: loads one package, runs its doctests -----------------------------------------


class _Loader(importlib.machinery.SourceFileLoader):
    """Compiles from source every time (no bytecode cache), instrumented or not."""

    instrumented = False

    def get_code(self, fullname: str) -> types.CodeType:
        path = self.get_filename(fullname)
        source = self.get_data(path).decode("utf-8")
        if self.instrumented:
            import runtree

            return runtree.instrument(source, path)
        return compile(source, path, "exec", dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, root: Path, package: str) -> None:
        self.root = root
        self.package = package

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name.split(".")[0] != self.package:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path or [str(self.root)])
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            return spec
        spec.loader = _Loader(name, spec.origin)
        return spec


class _Timeout(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Timeout(f"example ran longer than {EXAMPLE_TIMEOUT_S} s")


class _Runner(doctest.DocTestRunner):
    """Keeps which examples failed (by test name and index) instead of printing reports."""

    def __init__(self) -> None:
        super().__init__(verbose=False)
        self.failed: dict[str, str] = {}

    def _key(self, test: doctest.DocTest, example: doctest.Example) -> str:
        return f"{test.name}[{test.examples.index(example)}]"

    def report_failure(
        self, out: Any, test: doctest.DocTest, example: doctest.Example, got: str
    ) -> None:
        self.failed[self._key(test, example)] = "fails"

    def report_unexpected_exception(
        self, out: Any, test: doctest.DocTest, example: doctest.Example, exc_info: Any
    ) -> None:
        timed_out = exc_info[0] is _Timeout
        self.failed[self._key(test, example)] = "times out" if timed_out else "raises"


def _modules(root: Path, package: str) -> list[str]:
    names = []
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if "tests" in parts or "test" in parts:
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def child(mode: str, root: Path, package: str) -> dict[str, Any]:
    sys.dont_write_bytecode = True
    _Loader.instrumented = mode == "instrumented"
    sys.meta_path.insert(0, _Finder(root, package))
    signal.signal(signal.SIGALRM, _on_alarm)
    result: dict[str, Any] = {"modules": {}, "failed": {}, "import_errors": {}}
    recording = None
    if mode == "instrumented":
        import runtree

        recording = runtree.record()
        recording.__enter__()
    runner = _Runner()
    finder = doctest.DocTestFinder()
    names = _modules(root, package)
    modules = {}
    start = time.process_time()
    for name in names:  # imported first: instrumenting and executing modules is timed apart
        try:
            modules[name] = __import__(name, fromlist=["_"])
        except Exception as error:
            result["import_errors"][name] = f"{type(error).__name__}: {error}"
    result["import_ms"] = (time.process_time() - start) * 1e3
    started = time.process_time()
    for name, module in modules.items():
        start = time.process_time()
        try:
            tests = sorted(finder.find(module), key=lambda test: test.name)
        except Exception as error:
            result["import_errors"][name] = f"{type(error).__name__}: {error}"
            continue
        for test in tests:
            signal.setitimer(signal.ITIMER_REAL, EXAMPLE_TIMEOUT_S)
            try:
                runner.run(test, out=lambda text: None, clear_globs=True)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        result["modules"][name] = {
            "cpu_ms": (time.process_time() - start) * 1e3,
            "examples": sum(len(test.examples) for test in tests),
        }
    result["cpu_ms"] = (time.process_time() - started) * 1e3
    result["failed"] = runner.failed
    if recording is not None:
        recording.__exit__(None, None, None)
        start = time.process_time()
        exported = recording.to_dict()
        result["export_ms"] = (time.process_time() - start) * 1e3
        result["steps"] = len(exported["steps"])
        result["internal_errors"] = list(recording.internal_errors)
    return result


def run_child(mode: str, root: Path, package: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--root", str(root), "--package", package],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    ).stdout
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


# --- the parent: rounds, medians, report -----------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cache",
        type=Path,
        default=_default_cache(),
        help="where wheels are downloaded and unpacked (default: %(default)s)",
    )
    parser.add_argument(
        "--package", action="append", help=f"one of {', '.join(PACKAGES)} (default: all)"
    )
    parser.add_argument("--child", choices=("plain", "instrumented"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.root, args.package[0])))
        return 0
    packages = args.package or list(PACKAGES)
    unknown = [name for name in packages if name not in PACKAGES]
    if unknown:
        parser.error(f"unknown package {unknown[0]!r}: one of {', '.join(PACKAGES)}")
    rounds = 1 if args.quick else args.rounds
    root = prepare(args.cache, packages)
    print(
        f"runtree corpus benchmark: {', '.join(PACKAGES[p] for p in packages)}; "
        f"{rounds} round(s), plain and instrumented interleaved, medians of CPU time\n"
    )
    totals = {"plain": 0.0, "instrumented": 0.0}
    worst: tuple[float, str] = (0.0, "")
    regressions: list[str] = []
    for package in packages:
        runs: dict[str, list[dict[str, Any]]] = {"plain": [], "instrumented": []}
        for _ in range(rounds):
            for mode in ("plain", "instrumented"):
                runs[mode].append(run_child(mode, root, package))
        plain, inst = runs["plain"], runs["instrumented"]
        print(f"{package}  ({PACKAGES[package]})")
        print(f"  {'module':<36} {'examples':>8} {'plain ms':>9} {'instr. ms':>9} {'ratio':>6}")
        for name, info in plain[0]["modules"].items():
            if name not in inst[0]["modules"]:
                print(
                    f"  {name:<36} imports plainly, not instrumented: "
                    f"{inst[0]['import_errors'].get(name)}"
                )
                regressions.append(f"{name}: import fails instrumented")
                continue
            p = statistics.median(r["modules"][name]["cpu_ms"] for r in plain)
            i = statistics.median(r["modules"][name]["cpu_ms"] for r in inst)
            ratio = i / p if p else 0.0
            small = p < SMALL_MS
            if not small and ratio > worst[0]:
                worst = (ratio, name)
            print(
                f"  {name:<36} {info['examples']:>8} {p:>9.1f} {i:>9.1f} {ratio:>5.2f}x"
                f"{'  (too small to time)' if small else ''}"
            )
        p_total = statistics.median(r["cpu_ms"] for r in plain)
        i_total = statistics.median(r["cpu_ms"] for r in inst)
        p_import = statistics.median(r["import_ms"] for r in plain)
        i_import = statistics.median(r["import_ms"] for r in inst)
        totals["plain"] += p_total
        totals["instrumented"] += i_total
        last = inst[-1]
        print(
            f"  doctests: {p_total:.0f} ms plain, {i_total:.0f} ms instrumented "
            f"({i_total / p_total:.2f}x); importing the modules (instrumenting them): "
            f"{p_import:.0f} ms plain, {i_import:.0f} ms instrumented"
        )
        print(
            f"  recording: {last['steps']:,} steps, read back "
            f"(to_dict) in {last['export_ms']:.0f} ms; internal errors: "
            f"{len(last['internal_errors'])}"
        )
        plain_failed = set(plain[0]["failed"])
        for key, how in sorted(inst[0]["failed"].items()):
            if key not in plain_failed:
                regressions.append(f"{key}: passes plainly, {how} instrumented")
        if plain_failed:
            print(
                f"  ({len(plain_failed)} example(s) fail plainly too, e.g. "
                f"{sorted(plain_failed)[0]}: not counted)"
            )
        for name, error in plain[0]["import_errors"].items():
            print(f"  ({name} does not import plainly: {error})")
        print()
    ratio = totals["instrumented"] / totals["plain"]
    print("Summary")
    print(
        f"  total CPU ratio        {ratio:.2f}x  (target <= {TOTAL_TARGET}x): "
        f"{'PASS' if ratio <= TOTAL_TARGET else 'MISS'}"
    )
    print(
        f"  worst module           {worst[0]:.2f}x {worst[1]}  (target <= {MODULE_TARGET}x): "
        f"{'PASS' if worst[0] <= MODULE_TARGET else 'MISS'}"
    )
    print(f"  passes plainly, fails instrumented: {len(regressions)}")
    for line in regressions:
        print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
