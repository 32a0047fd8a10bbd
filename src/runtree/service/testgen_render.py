"""Writing a :class:`~.testgen_plan.TestPlan` as a pytest file.

The file needs pytest and nothing else (runtree is not imported; decoding an embedded pickle
of one of your classes' instances may need it, and the file says so). The code under test is
the recorded source of each function version, run as a plain module -- not instrumented --
from a string in the file, or from ``SOURCE_DIR/NAME.py`` when ``SOURCE_DIR`` is set (the
directory you deploy from: then your working copy is tested against the recording). As on
the platform, each module is given the other deployed functions by bare name: stubs that
answer from the recording, or with ``live`` the real modules.

This module puts the file together and writes its module-level parts;
:mod:`.testgen_function` writes the test function, :mod:`.testgen_exceptions` names
recorded exception types, :mod:`.testgen_support` holds the helper code every file
carries and :mod:`.testgen_source` the rules for writing Python source text.
"""

from __future__ import annotations

import datetime
import textwrap

from .testgen_exceptions import Exceptions
from .testgen_function import render_test_function
from .testgen_plan import Outcome, TestPlan, Value
from .testgen_source import (
    DOTTED,
    WIDTH,
    ascii_name,
    parameter_names,
    source_name,
    text_literal,
)
from .testgen_support import CALLS_CODE, DECODE_CODE, IMPORTED_CODE, LOAD_CODE


def test_filename(plan: TestPlan) -> str:
    """``test_<function>_<execution prefix>_step<id>.py``."""
    name = ascii_name(plan.qualname)
    return f"test_{name}_{plan.execution.id[:8]}_step{plan.step.id}.py"


test_filename.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def render(plan: TestPlan) -> str:
    """The pytest file's text."""
    values = [*plan.inputs.values(), *_outcome_values(plan.outcome)]
    for call in plan.calls:
        values.extend(call.inputs.values())
        values.extend(_outcome_values(call.outcome))
    pickled = [value for value in values if value.pickled and value.problem is None]
    exceptions = Exceptions(plan)
    body = render_test_function(plan, exceptions)
    parts = [
        _docstring(plan, needs_runtree=any("runtree" in value.source for value in pickled)),
        _imports(plan, pickled=bool(pickled)),
        _source_dir(plan),
        _sources(plan),
        LOAD_CODE,
    ]
    if pickled:
        parts.append(DECODE_CODE)
    if "imported(" in body:
        parts.append(IMPORTED_CODE)
    if plan.calls or plan.stubs:
        parts.append(CALLS_CODE)
        parts.extend(exceptions.definitions())
        parts.append(_stubs(plan))
    parts.append(body)
    return "\n\n".join(part.strip("\n") + "\n" for part in parts)


# --- the parts ---------------------------------------------------------------------------


def _docstring(plan: TestPlan, *, needs_runtree: bool) -> str:
    execution, step = plan.execution, plan.step
    version = plan.module.version
    started = execution.started_at or execution.queued_at
    when = started.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    error_type = plan.outcome.error_type
    if error_type is None:
        outcome = "returned"
    else:  # recorded text: shown only when it is a plain dotted name
        outcome = f"raised {error_type}" if DOTTED.fullmatch(error_type) else "raised"
    lines = [
        '"""A regression test made by runtree from one recorded call.',
        "",
        f"Recorded: step {step.id} of execution {execution.id}",
        f"  {plan.qualname} ({version.qualified_name} v{version.number}) {outcome}",
        f"  the run: {execution.qualified_name} v{execution.version}, {execution.status},"
        f" trigger {execution.trigger}, started {when}",
        f"Made with: runtree test-from {plan.spec}{' --live' if plan.live else ''}",
        "",
        "Needs pytest only: runtree is not imported. The code under test is the source",
        "recorded with the call (below), run as a plain Python module -- not instrumented --",
        "or, when SOURCE_DIR names a directory of NAME.py files (such as the one you deploy",
        "from), those files: then your working copy is tested against this recording.",
    ]
    if plan.live:
        lines += [
            "Calls into other deployed functions are real: their recorded sources are loaded",
            "too, and each module gets the others by bare name, as on the platform.",
        ]
    else:
        names = sorted({call.name for call in plan.calls})
        lines += textwrap.wrap(
            "Calls into other deployed functions"
            + (f" ({', '.join(names)})" if names else "")
            + " are answered by stubs with their recorded outputs or errors, in the recorded"
            " order; the test fails if the code calls them with other arguments, in another"
            " order, or not all of them.",
            WIDTH,
        )
    if needs_runtree:
        lines += [
            "Some recorded values hold instances that runtree rebuilds without calling their",
            "class: decoding them needs runtree importable (pip install runtree).",
        ]
    if plan.xfail_reason is not None:
        lines += [
            "",
            "INCOMPLETE: some values were only recorded as previews (the xfail reason below",
            "says which). The test is marked xfail (strict) until you put the real values",
            "where the previews are (TODO below).",
        ]
    lines.append('"""')
    return "\n".join(lines)


def _imports(plan: TestPlan, *, pickled: bool) -> str:
    modules = {"linecache", "pathlib", "types"}
    if pickled:
        modules |= {"base64", "pickle", "sys"}
    if plan.outcome.output_sha256 is not None:
        modules.add("hashlib")
    if plan.parameters.is_async:
        modules.add("asyncio")
    lines = [f"import {name}" for name in sorted(modules)]
    needs_pytest = plan.outcome.error_type is not None or plan.xfail_reason is not None
    if needs_pytest:
        lines += ["", "import pytest"]
    return "\n".join(lines)


def _source_dir(plan: TestPlan) -> str:
    comment = (
        "# A directory of NAME.py files to test instead of the recorded sources (None: the"
        " recorded\n# sources below). A relative path is relative to this file."
    )
    if plan.source_dir is None:
        value = "None"
    else:
        value = f"pathlib.Path(__file__).parent / {plan.source_dir!r}"
    return f"{comment}\nSOURCE_DIR = {value}\nNAMESPACE = {plan.execution.namespace!r}"


def _sources(plan: TestPlan) -> str:
    blocks = []
    for module in [plan.module, *plan.live_modules]:
        version = module.version
        blocks.append(
            f"# {version.qualified_name} v{version.number} as deployed"
            f" (sha256 {version.sha256[:16]}…)\n"
            f"{source_name(module)} = {text_literal(version.source)}"
        )
    return "\n\n".join(blocks)


def _stubs(plan: TestPlan) -> str:
    lines = [
        "def stubs():",
        '    """Stand-ins for the other deployed functions: each answers the next recorded'
        ' call."""',
    ]
    for name, (module, parameters) in plan.stubs.items():
        version = module.version
        arguments = ", ".join(
            f"{param!r}: {param}" for param in parameter_names(parameters.stub_signature)
        )
        keyword = "async def" if parameters.is_async else "def"
        lines += [
            "",
            f"    {keyword} {name}{parameters.stub_signature}:",
            f'        """{version.qualified_name} v{version.number}, stubbed."""',
            f"        return CALLS.answer({name!r}, {{{arguments}}})",
        ]
    names = ", ".join(f"{name!r}: {name}" for name in plan.stubs)
    lines += ["", f"    return {{{names}}}"]
    return "\n".join(lines)


def _outcome_values(outcome: Outcome) -> list[Value]:
    return [outcome.output] if outcome.output is not None else []
