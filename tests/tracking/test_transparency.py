"""Transparency: instrumented code behaves exactly like the original, recorded or not.

Every program in ``programs/`` is run three ways, each in a fresh module registered in
``sys.modules`` under the same name (so pickling by reference and doctest discovery work):

* ``plain``: the source compiled normally, with the same filename;
* ``instrumented``: ``runtree.instrument(source, filename)``, outside any recording;
* ``recorded``: the instrumented code, with ``main()`` called inside ``runtree.record()``.

The three runs must agree on everything the program can observe: the result (its ``repr``),
the exception that escaped ``main()`` (type, message, the chain of causes/contexts/group
members and, for each, the traceback entries on the program's own lines with their columns),
the complete formatted traceback text, and what was printed to stdout and stderr. The recorded
run must also produce the tree the program declares in ``EXPECTED_TREE`` (one step per line,
indented two spaces per level, `` [status]`` after steps that did not complete, and
``name xN (aggregated)`` for calls past the depth/step budget). ``UNORDERED = True`` compares
siblings as a multiset (programs whose threads may interleave).

Program conventions: a top-level ``main()`` taking no argument; module-level code only defines
things (it runs outside the recording); results are plain data (no addresses in reprs). A first
line ``# requires: 3.12`` skips the program on older Pythons.

Checks specific to one program live below, registered with ``@extra("name")``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import re
import sys
import textwrap
import threading
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import runtree

PROGRAMS_DIR = Path(__file__).parent / "programs"
RUNTREE_DIR = str(Path(runtree.__file__).resolve().parent)
MODES = ("plain", "instrumented", "recorded")
_REQUIRES = re.compile(r"#\s*requires:\s*(\d+)\.(\d+)")


# --- running a program three ways ---------------------------------------------------------


@dataclass
class Run:
    mode: str
    module: types.ModuleType
    result: Any = None
    result_repr: str | None = None
    exc: BaseException | None = None
    stdout: str = ""
    stderr: str = ""
    rec: runtree.Recording | None = None
    namespace: dict[str, Any] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return self.module.__file__  # type: ignore[return-value]


def program_path(name: str) -> Path:
    return PROGRAMS_DIR / f"{name}.py"


def compile_program(name: str, mode: str) -> types.CodeType:
    path = program_path(name)
    source = path.read_text(encoding="utf-8")
    if mode == "plain":
        return compile(source, str(path), "exec", dont_inherit=True)
    return runtree.instrument(source, str(path))


def _invoke(module: types.ModuleType) -> Any:
    # One call site for every mode, so frames above main() are identical in all three runs.
    return module.main()


def run_program(name: str, mode: str, **record_options: Any) -> Run:
    """Run ``programs/<name>.py`` in ``mode`` and capture everything observable."""
    code = compile_program(name, mode)
    module_name = f"runtree_transparency_{name}"
    module = types.ModuleType(module_name)
    module.__file__ = str(program_path(name))
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    out, err = io.StringIO(), io.StringIO()
    run = Run(mode=mode, module=module)
    try:
        exec(code, module.__dict__)
        recording = runtree.record(**record_options) if mode == "recorded" else None
        scope = recording if recording is not None else contextlib.nullcontext()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            with scope:
                try:
                    run.result = _invoke(module)
                except BaseException as exc:  # noqa: BLE001 - compared across modes
                    run.exc = exc
        run.rec = recording
    finally:
        if previous is None:
            sys.modules.pop(module_name, None)
        else:
            sys.modules[module_name] = previous
    run.stdout, run.stderr = out.getvalue(), err.getvalue()
    if run.exc is None:
        run.result_repr = repr(run.result)
    run.namespace = module.__dict__
    return run


def run_all(name: str) -> dict[str, Run]:
    return {mode: run_program(name, mode) for mode in MODES}


# --- what the three runs must agree on ---------------------------------------------------


def frames_of(tb: types.TracebackType | None, filename: str) -> list[tuple[Any, ...]]:
    """Traceback entries on the program's own lines: (filename, lineno, name, positions)."""
    return [
        (f.filename, f.lineno, f.name, f.end_lineno, f.colno, f.end_colno)
        for f in traceback.extract_tb(tb)
        if f.filename == filename
    ]


def describe_exception(exc: BaseException | None, filename: str) -> Any:
    """Type, message, program frames, notes, and the same for causes/contexts/group members."""
    seen: set[int] = set()

    def walk(e: BaseException | None, depth: int) -> Any:
        if e is None or id(e) in seen or depth > 20:
            return None
        seen.add(id(e))
        return {
            "type": f"{type(e).__module__}.{type(e).__qualname__}",
            "message": str(e),
            "args": repr(e.args),
            "frames": frames_of(e.__traceback__, filename),
            "frame_count": len(traceback.extract_tb(e.__traceback__)),
            "notes": list(getattr(e, "__notes__", [])),
            "suppress_context": e.__suppress_context__,
            "cause": walk(e.__cause__, depth + 1),
            "context": walk(e.__context__, depth + 1),
            "members": [walk(m, depth + 1) for m in getattr(e, "exceptions", ())],
        }

    return walk(exc, 0)


def formatted(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    return "".join(traceback.format_exception(exc))


def runtree_frames(exc: BaseException | None) -> list[str]:
    """runtree's own frames anywhere in the exception's tracebacks (there must be none)."""
    found: list[str] = []
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        for f in traceback.extract_tb(e.__traceback__):
            if os.path.realpath(f.filename).startswith(RUNTREE_DIR + os.sep):
                found.append(f"{f.filename}:{f.lineno} in {f.name}")
        stack.extend([e.__cause__, e.__context__, *getattr(e, "exceptions", ())])
    return found


def observable(run: Run) -> dict[str, Any]:
    return {
        "result": run.result_repr,
        "exception": describe_exception(run.exc, run.filename),
        "formatted_traceback": formatted(run.exc),
        "stdout": run.stdout,
        "stderr": run.stderr,
    }


# --- the recorded tree --------------------------------------------------------------------


def tree_lines(rec: runtree.Recording, *, unordered: bool = False) -> list[str]:
    """The compact tree of ``rec``: names, nesting, non-completed statuses, aggregates."""
    children: dict[int | None, list[Any]] = {}
    for step in rec.steps:
        children.setdefault(step.parent_id, []).append(step)

    def block(step: Any, indent: int) -> list[str]:
        status = "" if step.status == "completed" else f" [{step.status}]"
        lines = ["  " * indent + step.name + status]
        subtrees = [block(child, indent + 1) for child in children.get(step.id, [])]
        for agg in step.to_dict()["aggregates"]:
            subtrees.append(["  " * (indent + 1) + f"{agg['name']} x{agg['count']} (aggregated)"])
        if unordered:
            subtrees.sort()
        for sub in subtrees:
            lines.extend(sub)
        return lines

    roots = [block(step, 0) for step in children.get(None, [])]
    if unordered:
        roots.sort()
    lines = [line for sub in roots for line in sub]
    for agg in rec.to_dict()["aggregates"]:
        lines.append(f"{agg['name']} x{agg['count']} (aggregated)")
    return lines


def expected_lines(text: str) -> list[str]:
    return [line.rstrip() for line in textwrap.dedent(text).strip("\n").splitlines() if line.strip()]


def check_recording_invariants(rec: runtree.Recording, filename: str) -> None:
    ids = [step.id for step in rec.steps]
    assert ids == list(range(1, len(ids) + 1)), "step ids are the call order, 1-based"
    by_id = {step.id: step for step in rec.steps}
    for step in rec.steps:
        if step.parent_id is None:
            assert step.depth == 0, step
        else:
            parent = by_id[step.parent_id]
            assert parent.id < step.id, "a parent starts before its children"
            assert step.depth == parent.depth + 1, (step, parent)
        assert step.status in ("completed", "failed", "interrupted"), step
        assert step.filename == filename
        if step.status == "failed":
            assert step.error is not None and step.error["type"], step
            for frame in step.error["traceback"]:
                assert not frame["filename"].startswith(RUNTREE_DIR), frame
    json.dumps(rec.to_dict())  # the JSON shape really is JSON
    rendered = rec.render()
    assert rendered.count("Step: ") == sum(1 for s in rec.steps if s.parent_id is not None)


# --- per-program extra checks --------------------------------------------------------------

EXTRA_CHECKS: dict[str, Callable[[dict[str, Run]], None]] = {}


def extra(name: str) -> Callable[[Callable[[dict[str, Run]], None]], Callable[[dict[str, Run]], None]]:
    def register(fn: Callable[[dict[str, Run]], None]) -> Callable[[dict[str, Run]], None]:
        EXTRA_CHECKS[name] = fn
        return fn

    return register


def steps_named(run: Run, name: str) -> list[Any]:
    assert run.rec is not None
    return [step for step in run.rec.steps if step.name == name]


def previews(step: Any) -> dict[str, Any]:
    return {name: captured.preview for name, captured in step.inputs.items()}


# Known behaviour differences: program name -> reason. Each is a strict xfail (see the report).
KNOWN_BUGS: dict[str, str] = {}


def _program_params() -> list[Any]:
    params = []
    for path in sorted(PROGRAMS_DIR.glob("*.py")):
        name = path.stem
        marks = []
        match = _REQUIRES.search(path.read_text(encoding="utf-8").split("\n", 1)[0])
        if match and sys.version_info < (int(match[1]), int(match[2])):
            marks.append(pytest.mark.skip(reason=f"needs Python {match[1]}.{match[2]}"))
        if name in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[name]))
        params.append(pytest.param(name, marks=marks, id=name))
    return params


PROGRAM_PARAMS = _program_params()


def test_there_are_enough_programs() -> None:
    assert len(PROGRAM_PARAMS) >= 60


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", PROGRAM_PARAMS)
def test_program_is_transparent(name: str) -> None:
    runs = run_all(name)
    plain, instrumented, recorded = runs["plain"], runs["instrumented"], runs["recorded"]
    expected = observable(plain)
    assert observable(instrumented) == expected, "instrumented (not recording) differs from plain"
    assert observable(recorded) == expected, "instrumented inside record() differs from plain"
    for run in (instrumented, recorded):
        assert runtree_frames(run.exc) == [], "runtree frames leaked into a traceback"

    rec = recorded.rec
    assert rec is not None and rec.closed
    check_recording_invariants(rec, recorded.filename)
    tree_spec = plain.namespace.get("EXPECTED_TREE")
    if tree_spec is not None:
        unordered = bool(plain.namespace.get("UNORDERED", False))
        want = expected_lines(tree_spec)
        if unordered:
            want = _sorted_tree(want)
        assert tree_lines(rec, unordered=unordered) == want
    else:
        assert name in EXTRA_CHECKS, "a program without EXPECTED_TREE needs an extra check"

    # An exception escaping main(): the root step failed with it, and its recorded traceback
    # has exactly the program's own frames of the real traceback (outermost first).
    if recorded.exc is not None and rec.steps and rec.steps[0].name == "main":
        root = rec.steps[0]
        assert root.status == "failed"
        assert root.error["type"].rsplit(".", 1)[-1] == type(recorded.exc).__qualname__
        assert root.error["message"] == str(recorded.exc)
        recorded_frames = [
            (f["lineno"], f["name"]) for f in root.error["traceback"]
            if f["filename"] == recorded.filename
        ]
        real = [(f[1], f[2]) for f in frames_of(recorded.exc.__traceback__, recorded.filename)]
        assert recorded_frames == real

    check = EXTRA_CHECKS.get(name)
    if check is not None:
        check(runs)


def _sorted_tree(lines: list[str]) -> list[str]:
    """Sort sibling subtrees of an indented tree (for programs with ``UNORDERED``)."""

    def parse(index: int, indent: int) -> tuple[list[list[str]], int]:
        blocks: list[list[str]] = []
        while index < len(lines):
            line = lines[index]
            level = (len(line) - len(line.lstrip(" "))) // 2
            if level < indent:
                break
            head = [line]
            kids, index = parse(index + 1, indent + 1)
            kids.sort()
            blocks.append(head + [x for kid in kids for x in kid])
        return blocks, index

    blocks, _ = parse(0, 0)
    blocks.sort()
    return [x for b in blocks for x in b]
