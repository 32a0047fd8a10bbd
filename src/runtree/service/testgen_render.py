"""Writing a :class:`~.testgen_plan.TestPlan` as a pytest file.

The file needs pytest and nothing else (runtree is not imported; decoding an embedded pickle
of one of your classes' instances may need it, and the file says so). The code under test is
the recorded source of each function version, run as a plain module -- not instrumented --
from a string in the file, or from ``SOURCE_DIR/NAME.py`` when ``SOURCE_DIR`` is set (the
directory you deploy from: then your working copy is tested against the recording). As on
the platform, each module is given the other deployed functions by bare name: stubs that
answer from the recording, or with ``live`` the real modules.
"""

from __future__ import annotations

import ast
import builtins
import datetime
import re
import textwrap

from .testgen_plan import Module, Outcome, StubbedCall, TestPlan, Value

_WIDTH = 88


def test_filename(plan: TestPlan) -> str:
    """``test_<function>_<execution prefix>_step<id>.py``."""
    name = _ascii_name(plan.qualname)
    return f"test_{name}_{plan.execution.id[:8]}_step{plan.step.id}.py"


test_filename.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def render(plan: TestPlan) -> str:
    """The pytest file's text."""
    values = [*plan.inputs.values(), *_outcome_values(plan.outcome)]
    for call in plan.calls:
        values.extend(call.inputs.values())
        values.extend(_outcome_values(call.outcome))
    pickled = [value for value in values if value.pickled and value.problem is None]
    exceptions = _Exceptions(plan)
    body = _test_function(plan, exceptions)
    parts = [
        _docstring(plan, needs_runtree=any("runtree" in value.source for value in pickled)),
        _imports(plan, pickled=bool(pickled)),
        _source_dir(plan),
        _sources(plan),
        _HELPERS,
    ]
    if pickled:
        parts.append(_DECODE)
    if "imported(" in body:
        parts.append(_IMPORTED)
    if plan.calls or plan.stubs:
        parts.append(_CALLS)
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
        outcome = f"raised {error_type}" if _DOTTED.fullmatch(error_type) else "raised"
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
            _WIDTH,
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
            f"{_source_name(module)} = {_text_literal(version.source)}"
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
            f"{param!r}: {param}" for param in _parameter_names(parameters.stub_signature)
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


def _test_function(plan: TestPlan, exceptions: _Exceptions) -> str:
    module_name = plan.module.module
    lines: list[str] = []
    if plan.xfail_reason is not None:
        lines.append(f"@pytest.mark.xfail(strict=True, reason={plan.xfail_reason!r})")
    fixture = "capsys" if plan.stdout is not None else ""
    test_name = _ascii_name(plan.qualname)
    lines.append(f"def test_{test_name}_step_{plan.step.id}({fixture}):")
    sources = [f"{m.module!r}: {_source_name(m)}" for m in [plan.module, *plan.live_modules]]
    stubs = "stubs()" if plan.stubs else "{}"
    flat = f"    modules = load({{{', '.join(sources)}}}, {stubs})"
    if len(flat) > _WIDTH:
        flat = (
            "    modules = load(\n        {\n"
            + _indent(",\n".join(sources), 12)
            + ",\n        },\n"
        )
        flat += f"        {stubs},\n    )"
    lines.append(flat)
    lines.append(f"    module = modules[{module_name!r}]")
    if plan.stubs and not plan.calls:
        lines.append("    CALLS.expect()  # the recording made no call into another function")
    elif plan.stubs:
        lines.append("    CALLS.expect(")
        for stubbed in plan.calls:
            lines.append(_indent(_call_entry(stubbed, exceptions), 8) + ",")
        lines.append("    )")
    call = _call_expression(plan)
    outcome = plan.outcome
    if outcome.error_type is not None:
        lines.append(
            f"    with pytest.raises({exceptions.expression(outcome.error_type)}) as raised:"
        )
        lines.append(_indent(call, 8))
        lines.append(f"    assert str(raised.value) == {outcome.message!r}")
    elif outcome.output_sha256 is not None:
        kind, digest, length = outcome.output_sha256
        encode = '.encode("utf-8", "surrogatepass")' if kind == "str" else ""
        lines.append(_indent(f"result = {call}", 4))
        lines.append("    # the output was over the capture budget: its type, length and digest")
        lines.append(f"    assert type(result).__name__ == {kind!r} and len(result) == {length}")
        lines.append(f"    assert hashlib.sha256(result{encode}).hexdigest() == {digest!r}")
    else:
        assert outcome.output is not None
        lines.append(_indent(f"result = {call}", 4))
        lines.append(_value_comment(outcome.output, "the output", 4))
        lines.append(_indent(f"expected = {outcome.output.source}", 4))
        lines.append("    assert result == expected")
    if plan.stubs:
        lines.append("    CALLS.assert_all_made()")
    if plan.stdout is not None:
        lines.append(f"    assert capsys.readouterr().out == {plan.stdout!r}")
    elif plan.stdout_note is not None:
        lines.append(f"    # printed output {plan.stdout_note}")
    return "\n".join(line for line in lines if line)


def _call_expression(plan: TestPlan) -> str:
    parameters = plan.parameters
    # Parameters before a *args that was given must be passed by position.
    by_position = (
        parameters.positional if parameters.vararg in plan.inputs else parameters.positional_only
    )
    arguments = []
    for name, value in plan.inputs.items():
        comment = _value_comment(value, f"input {name!r}", 0)
        if name in by_position:
            text = value.source
        elif name == parameters.vararg:
            text = f"*{value.source}"
        elif name == parameters.kwarg:
            text = f"**{value.source}"
        else:
            text = f"{name}={value.source}"
        arguments.append((comment + "\n" if comment else "") + text)
    expression = _call_of(f"module.{plan.qualname}", arguments, indent=20)
    return f"asyncio.run({expression})" if parameters.is_async else expression


def _call_entry(call: StubbedCall, exceptions: _Exceptions) -> str:
    lines = [f"# step {call.step.id}: {call.step.name}"]
    checked = []
    for name, value in call.inputs.items():
        if value.problem is not None:
            lines.append(f"# argument {name!r} is not checked: it {_comment(value.problem)}")
            continue
        if value.by_identity:
            lines.append(
                f"# argument {name!r} is not checked: it holds instances of classes without"
                " their own __eq__"
            )
            continue
        checked.append(f"{name!r}: {value.source}")
    inputs = "{" + ", ".join(checked) + "}"
    if len(inputs) > _WIDTH - 20:
        inputs = "{\n" + _indent(",\n".join(checked), 4) + ",\n}"
    outcome = call.outcome
    if outcome.error_type is not None:
        args = _error_args(outcome.error_type, outcome.message or "")
        answer = f"raises=recorded_error({exceptions.expression(outcome.error_type)}, {args})"
    else:
        assert outcome.output is not None  # a stub returns an exact value (or a preview: xfail)
        comment = _value_comment(outcome.output, "its output", 0)
        if comment:
            lines.append(comment)
        answer = f"returns={outcome.output.source}"
    lines.append(
        _call_of("Call", [repr(call.name), f"step={call.step.id}", f"inputs={inputs}", answer])
    )
    return "\n".join(lines)


def _call_of(function: str, arguments: list[str], indent: int = 8) -> str:
    """``function(arguments)`` on one line when it fits, else one argument a line."""
    flat = f"{function}({', '.join(arguments)})"
    if "\n" not in flat and len(flat) + indent <= _WIDTH:
        return flat
    return f"{function}(\n" + _indent(",\n".join(arguments), 4) + ",\n)"


def _value_comment(value: Value, what: str, indent: int) -> str:
    if value.by_identity:
        text = f"# TODO {what} holds instances compared by identity: compare their fields"
    elif value.problem is not None:
        text = f"# TODO {what} {_comment(value.problem)}: below is its preview, not the value"
    elif value.pickled:
        text = f"# {what}: not plain data, so embedded as a pickle and decoded in this process"
    else:
        return ""
    return " " * indent + text


# --- exceptions --------------------------------------------------------------------------


class _Exceptions:
    """Python expressions for recorded exception types (``KeyError``,
    ``modules["orders"].OutOfStock``), and stand-in classes for those of stubbed modules."""

    def __init__(self, plan: TestPlan) -> None:
        self.loaded = {m.module for m in [plan.module, *plan.live_modules]}
        self.stubbed = set(plan.stubs)
        self.stand_ins: dict[str, str] = {}

    def expression(self, type_name: str) -> str:
        kind = getattr(builtins, type_name, None)
        if isinstance(kind, type) and issubclass(kind, BaseException):
            return type_name
        module, _, qualname = type_name.partition(".")
        if not _DOTTED.fullmatch(qualname):  # recorded text: never spliced into code
            return f"imported({type_name!r})"
        if module in self.loaded:
            return f"modules[{module!r}].{qualname}"
        if module in self.stubbed:
            if type_name not in self.stand_ins:
                base = re.sub(r"\W+", "_", qualname.rsplit(".", 1)[-1])
                name = base if base not in self.stand_ins.values() else f"{base}_{module}"
                self.stand_ins[type_name] = name
            return self.stand_ins[type_name]
        return f"imported({type_name!r})"

    def definitions(self) -> list[str]:
        return [
            f"class {name}(Exception):\n"
            f'    """Stands in for {type_name}: raised by a stubbed call (its module is not'
            f' loaded)."""\n\n\n{name}.__module__, {name}.__qualname__ = '
            f"{type_name.partition('.')[0]!r}, {type_name.partition('.')[2]!r}"
            for type_name, name in self.stand_ins.items()
        ]


def _error_args(type_name: str, message: str) -> str:
    """Arguments that give an exception of ``type_name`` the recorded ``str()``: a
    ``KeyError`` shows its argument's repr."""
    if type_name == "KeyError":
        try:
            key = ast.literal_eval(message)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            key = None
        if isinstance(key, str) and repr(key) == message:
            return repr(key)
    return repr(message)


# --- text --------------------------------------------------------------------------------

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _ascii_name(qualname: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", qualname).strip("_") or "step"


def _comment(text: str) -> str:
    """Recorded text made safe for a ``#`` comment: one line, printable."""
    return "".join(c if c.isprintable() else "?" for c in text)[:500]


def _outcome_values(outcome: Outcome) -> list[Value]:
    return [outcome.output] if outcome.output is not None else []


def _source_name(module: Module) -> str:
    return f"SOURCE_{module.module.upper()}"


def _parameter_names(signature: str) -> list[str]:
    arguments = ast.parse(f"def f{signature}: pass").body[0].args  # type: ignore[attr-defined]
    names = [a.arg for a in [*arguments.posonlyargs, *arguments.args]]
    if arguments.vararg:
        names.append(arguments.vararg.arg)
    names += [a.arg for a in arguments.kwonlyargs]
    if arguments.kwarg:
        names.append(arguments.kwarg.arg)
    return names


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _text_literal(text: str) -> str:
    """``text`` as a readable triple-quoted literal when one is exact, else its repr."""
    if not text.endswith("\n"):
        text += "\n"
    for quotes in ('"""', "'''"):
        if quotes in text or "\r" in text:
            continue
        candidate = quotes + "\\\n" + text.replace("\\", "\\\\") + quotes
        try:
            if ast.literal_eval(candidate) == text:
                return candidate
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            pass
    return repr(text)


_HELPERS = '''
def load(sources, links):
    """Each deployed function's module by name, run as plain Python from SOURCE_DIR/NAME.py
    when SOURCE_DIR is set, else from its recorded source; then, as on the platform, each
    module gets the other functions (or ``links``: stubs) by bare name."""
    modules = {}
    for name, recorded in sources.items():
        source, filename = recorded, f"{NAMESPACE}/{name}.py"
        if SOURCE_DIR is not None:
            path = pathlib.Path(SOURCE_DIR) / f"{name}.py"
            source, filename = path.read_text(encoding="utf-8"), str(path)
        # tracebacks and pytest show the lines of the code under test
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        module = types.ModuleType(name)
        module.__file__ = filename
        exec(compile(source, filename, "exec"), module.__dict__)
        modules[name] = module
    entry_points = {name: getattr(module, name, None) for name, module in modules.items()}
    for name, module in modules.items():
        for other, function in {**links, **entry_points}.items():
            if other != name and other not in module.__dict__:
                setattr(module, other, function)
    LOADED.clear()
    LOADED.update(modules)
    return modules


LOADED = {}
'''

_IMPORTED = '''
def imported(dotted):
    """The class named ``module.Qualname``, imported."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            found = getattr(found, part)
        return found
    raise ImportError(f"cannot import {dotted}")
'''

_DECODE = '''
def decode(data):
    """A value recorded as a pickle (base64), decoded here, in your own process: the
    runtree server never unpickles what a function sent. Unpickling can run code: run this
    test only on recordings you trust. Classes of your functions resolve to the modules
    loaded above."""
    saved = {name: sys.modules.get(name) for name in LOADED}
    sys.modules.update(LOADED)
    try:
        return pickle.loads(base64.b64decode(data))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
'''

_CALLS = '''
class Call:
    """One recorded call into another deployed function: its checked arguments and what it
    returned or raised."""

    def __init__(self, name, step, inputs, returns=None, raises=None):
        self.name, self.step, self.inputs = name, step, inputs
        self.returns, self.raises = returns, raises


class RecordedCalls:
    """The calls the step made into other deployed functions, answered in recorded order."""

    def __init__(self):
        self.calls, self.made = [], 0

    def expect(self, *calls):
        self.calls, self.made = list(calls), 0

    def answer(self, name, arguments):
        number = self.made + 1
        assert self.made < len(self.calls), (
            f"call {number} into another function, {name}(), is not in the recording "
            f"({len(self.calls)} calls)"
        )
        call = self.calls[self.made]
        self.made += 1
        assert name == call.name, (
            f"call {number}: the recording called {call.name} (step {call.step}), not {name}"
        )
        for param, expected in call.inputs.items():
            actual = arguments.get(param, NOT_RECORDED)
            if actual is not NOT_RECORDED:  # a default the recording cannot know
                assert actual == expected, (
                    f"call {number}, {name}(): argument {param!r} differs from step {call.step}"
                )
        if call.raises is not None:
            raise call.raises
        return call.returns

    def assert_all_made(self):
        left = [f"{call.name} (step {call.step})" for call in self.calls[self.made :]]
        assert not left, f"recorded calls not made: {', '.join(left)}"


CALLS = RecordedCalls()
NOT_RECORDED = object()


def recorded_error(kind, *args):
    """An exception of ``kind`` with ``args``, made without calling its ``__init__`` (which
    may take other arguments): its ``str()`` is the recorded message."""
    error = kind.__new__(kind, *args)
    error.args = args
    return error
'''
