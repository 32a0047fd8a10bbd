"""A recorded step becomes a regression test (``runtree test-from EXECUTION[:STEP]``).

:func:`generate_test` reads one step of an execution and what it needs -- the source of its
function's version, its recorded inputs and outcome, and (unless ``live``) the calls it made
into other deployed functions with their recorded outcomes -- checks that each value the test
depends on was recorded exactly, and hands a :class:`TestPlan` to
:mod:`.testgen_render`, which writes the pytest file.

What "recorded exactly" means: a captured value with a serialized copy that is not
truncated, not redacted and holds no stand-in for something that could not be serialized.
A value that only has a preview makes the generator refuse (:class:`UntestableStep`, naming
it), or with ``xfail`` write the test with the preview in its place, marked as a strict
xfail with the reason: never a test that passes without checking what was recorded.

The server never unpickles: a serialized copy is either read as a literal by
:mod:`.pickle_literal` (plain builtin data only, without unpickling) or embedded as base64
for the generated test to decode in the user's own process.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..errors import InvalidOption, NotFoundError, UntestableStep
from ..models import (
    ExecutionRecord,
    GeneratedTest,
    StepRecord,
    StepStatus,
    StepSummary,
    VersionRecord,
)
from ..store import Store
from .pickle_literal import literal_source

MAX_STEP_SPEC = 300
# How a pickle refers to the function that rebuilds an instance from its raw state.
_RAW_INSTANCES = b"runtree.tracking.raw_state"
_NAME_SPEC = re.compile(r"[A-Za-z_][\w.<>]*")


@dataclasses.dataclass(frozen=True, slots=True)
class Value:
    """One recorded value as test source: ``source`` is a Python expression (a literal, or
    ``decode("…")`` of an embedded pickle when ``pickled``); ``problem`` says why it is not
    the recorded value itself (then ``source`` is its preview), ``None`` when it is.
    ``by_identity``: it holds instances of classes runtree recorded by their raw state
    (classes without their own ``__eq__``), so ``==`` on it compares identities."""

    source: str
    pickled: bool = False
    problem: str | None = None
    by_identity: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Parameters:
    """How a function's parameters are passed, read from its ``def``; ``stub_signature`` is
    the parameter list for a stand-in (annotations dropped, defaults kept when literal)."""

    names: tuple[str, ...]
    positional: tuple[str, ...]
    positional_only: tuple[str, ...]
    vararg: str | None
    kwarg: str | None
    is_async: bool
    stub_signature: str
    unknown_defaults: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What a call did: returned ``output``, or raised ``error_type`` with ``message``."""

    output: Value | None = None
    output_sha256: tuple[str, str, int] | None = None  # (type, digest, length) of a cut value
    error_type: str | None = None
    message: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class StubbedCall:
    """One recorded call into another deployed function, answered by a stub."""

    step: StepRecord
    name: str
    inputs: dict[str, Value]
    outcome: Outcome


@dataclasses.dataclass(frozen=True, slots=True)
class Module:
    """A deployed function's module as the test loads it (``module`` is its bare name)."""

    module: str
    version: VersionRecord


@dataclasses.dataclass(frozen=True, slots=True)
class TestPlan:
    """Everything the pytest file says; :func:`.testgen_render.render` writes it."""

    __test__ = False  # not a pytest test class

    execution: ExecutionRecord
    step: StepRecord
    qualname: str
    module: Module
    live_modules: list[Module]
    parameters: Parameters
    inputs: dict[str, Value]
    outcome: Outcome
    stubs: dict[str, tuple[Module, Parameters]]
    calls: list[StubbedCall]
    stdout: str | None
    stdout_note: str | None
    xfail_reason: str | None
    source_dir: str | None
    live: bool

    @property
    def spec(self) -> str:
        return f"{self.execution.id}:{self.step.id}"


def generate_test(
    store: Store,
    execution_id: str,
    step: str | None = None,
    *,
    live: bool = False,
    xfail: bool = False,
    source_dir: str | None = None,
) -> GeneratedTest:
    """The pytest file for ``step`` of the execution (its root step when ``None``): a step
    id or the qualified name of a function (its first call in the run).

    Raises :class:`NotFoundError` (execution or step), :class:`InvalidOption` (``step`` or
    ``source_dir`` malformed) or :class:`UntestableStep`."""
    from .testgen_render import render, test_filename

    plan = plan_test(store, execution_id, step, live=live, xfail=xfail, source_dir=source_dir)
    return GeneratedTest(
        filename=test_filename(plan),
        text=render(plan),
        execution_id=plan.execution.id,
        step_id=plan.step.id,
        stubbed_calls=len(plan.calls),
        xfail_reason=plan.xfail_reason,
    )


def plan_test(
    store: Store,
    execution_id: str,
    step: str | None,
    *,
    live: bool,
    xfail: bool,
    source_dir: str | None,
) -> TestPlan:
    """Select and check what the test needs (see :func:`generate_test`)."""
    if source_dir is not None and (
        not source_dir or len(source_dir) > 1000 or any(c in source_dir for c in "\0\n\r")
    ):
        raise InvalidOption("source_dir", "source_dir must be a path of 1 to 1000 characters")
    execution = store.get_execution(execution_id)
    if execution is None:
        raise NotFoundError("execution", execution_id)
    summaries = store.get_step_summaries(execution_id)  # no payloads: cheap on 10,000
    chosen = _select(execution, summaries, step)
    where = f"{execution.id}:{chosen.id}"
    if chosen.status in (StepStatus.RUNNING, StepStatus.INTERRUPTED):
        raise UntestableStep(
            where, f"step {chosen.id} ({chosen.name}) is {chosen.status}: it has no outcome"
        )
    if chosen.generator is not None:
        raise UntestableStep(
            where, f"step {chosen.id} ({chosen.name}) is a generator: not supported yet"
        )
    if "<locals>" in chosen.name:
        raise UntestableStep(where, _nested_message(chosen, summaries))
    children = _children(summaries)
    if live:
        ran_summaries = _subtree(chosen, children, lambda _step: True)
        out: list[StepSummary] = []
    else:
        ran_summaries = _subtree(chosen, children, lambda s: s.function == chosen.function)
        out = _calls_out(children, ran_summaries)
    full = _load(store, execution_id, [s.id for s in [*ran_summaries, *out]])
    target = full[chosen.id]
    ran = [full[s.id] for s in ran_summaries]
    module = _module_of(store, execution, target, where)
    parameters = _parameters(module.version.source, target.name)
    if parameters is None:
        raise UntestableStep(
            where,
            f"{target.name} is not defined at the top level of {module.version.qualified_name}"
            f" v{module.version.number}: it cannot be called from a test",
        )
    problems: list[str] = []
    inputs = {}
    for name, captured in target.inputs.items():
        if name not in parameters.names:  # recorded text: only real parameters become code
            raise UntestableStep(
                where, f"recorded input {name[:80]!r} is not a parameter of {target.name}"
            )
        value = recorded_value(captured)
        if value.problem is not None:
            problems.append(f"input {name!r} {value.problem}")
        inputs[name] = value
    outcome = _outcome(target, "the output", problems)
    versions = store.get_versions(
        execution.namespace, {**execution.versions, execution.name: execution.version}
    )
    others = {
        name: Module(name, version)
        for name, version in sorted(versions.items())
        if name != module.module
    }
    stubs: dict[str, tuple[Module, Parameters]] = {}
    calls: list[StubbedCall] = []
    if not live:
        for name, other in others.items():
            stubs[name] = (other, _parameters(other.version.source, name) or _ANY_PARAMETERS)
        for called in out:
            calls.append(_stubbed(full[called.id], stubs, where, problems))
        _check_aggregates(ran, others, where)
    stdout, stdout_note = _printed(target, ran)
    reason = None
    if problems:
        listed = "; ".join(problems)
        if not xfail:
            raise UntestableStep(
                where,
                f"step {target.id} ({target.name}) cannot be tested exactly: {listed}. "
                "Generate it with xfail to get a test marked as an expected failure "
                "with the previews in place, to complete by hand",
            )
        reason = f"recorded only as previews: {listed}"
    return TestPlan(
        execution=execution,
        step=target,
        qualname=target.name,
        module=module,
        live_modules=list(others.values()) if live else [],
        parameters=parameters,
        inputs=inputs,
        outcome=outcome,
        stubs=stubs,
        calls=calls,
        stdout=stdout,
        stdout_note=stdout_note,
        xfail_reason=reason,
        source_dir=source_dir,
        live=live,
    )


def recorded_value(captured: Mapping[str, Any]) -> Value:
    """A captured-value dict as test source (see :class:`Value`)."""
    preview = _preview_source(captured.get("preview"))
    blob = captured.get("blob")
    if isinstance(captured.get("preview"), dict) and captured["preview"].get("bound") is True:
        return Value(preview, problem="is the instance the method is bound to (not recorded)")
    if captured.get("redacted"):
        return Value(preview, problem="was redacted (its name marks a secret)")
    if captured.get("truncated"):
        size = captured.get("size", 0)
        return Value(preview, problem=f"was truncated (over the capture budget, {size:,} bytes)")
    if blob is None or captured.get("format") != "pickle":
        warning = captured.get("warning") or "it could not be serialized"
        return Value(preview, problem=f"was only described: {warning}")
    if captured.get("warning"):
        return Value(preview, problem=f"was only described: {captured['warning']}")
    if _RAW_INSTANCES in bytes(blob):
        return Value(
            f"decode({base64.b64encode(bytes(blob)).decode('ascii')!r})",
            pickled=True,
            problem=None,
            by_identity=True,
        )
    literal = literal_source(bytes(blob))
    if literal is not None:
        return Value(literal)
    encoded = base64.b64encode(bytes(blob)).decode("ascii")
    return Value(f"decode({encoded!r})", pickled=True)


# --- selecting and reading ---------------------------------------------------------------

_S = TypeVar("_S", StepSummary, StepRecord)
_LOAD_ONE_BY_ONE = 64  # up to this many steps, read each; past it, read them all at once


def _load(store: Store, execution_id: str, ids: Sequence[int]) -> dict[int, StepRecord]:
    """The steps ``ids`` of the execution in full, with their serialized values."""
    if len(ids) <= _LOAD_ONE_BY_ONE:
        found = (store.get_step(execution_id, step_id, include_blobs=True) for step_id in ids)
        return {step.id: step for step in found if step is not None}
    wanted = set(ids)
    steps = store.get_steps(execution_id, include_blobs=True)
    return {step.id: step for step in steps if step.id in wanted}


def _select(execution: ExecutionRecord, steps: Sequence[_S], spec: str | None) -> _S:
    if not steps:
        raise UntestableStep(
            execution.id, f"execution {execution.id} ({execution.status}) recorded no step"
        )
    if spec is None:
        return min((s for s in steps if s.parent_id is None), key=lambda s: s.sequence)
    text = spec.strip()
    if text.isdigit() and len(text) < 12:
        found = next((s for s in steps if s.id == int(text)), None)
        if found is None:
            raise NotFoundError("step", f"{execution.id}:{text}")
        return found
    if len(text) > MAX_STEP_SPEC or not _NAME_SPEC.fullmatch(text):
        raise InvalidOption(
            "step",
            f"step must be a step id (a number) or the name of a function that ran, "
            f"got {spec[:80]!r}",
        )
    for step in steps:  # in call order
        if step.name == text or step.name.rsplit(".", 1)[-1] == text:
            return step
    raise NotFoundError("step", f"{execution.id}:{text} (no call of {text} was recorded)")


def _module_of(store: Store, execution: ExecutionRecord, step: StepRecord, where: str) -> Module:
    if step.function is None or step.version is None:
        raise UntestableStep(
            where, f"step {step.id} ({step.name}) belongs to no deployed function version"
        )
    namespace, _, name = step.function.partition("/")
    version = store.get_version(namespace, name, step.version)
    if version is None:
        raise NotFoundError("version", f"{step.function} v{step.version}")
    return Module(name, version)


def _nested_message(step: _S, steps: Sequence[_S]) -> str:
    by_id = {s.id: s for s in steps}
    parent = by_id.get(step.parent_id) if step.parent_id is not None else None
    while parent is not None and "<locals>" in parent.name:
        parent = by_id.get(parent.parent_id) if parent.parent_id is not None else None
    hint = (
        f"; generate the test from step {parent.id} ({parent.name}), which calls it"
        if parent is not None
        else ""
    )
    return (
        f"step {step.id} ({step.name}) is a function defined inside another: a test cannot "
        f"call it{hint}"
    )


def _children(steps: Sequence[_S]) -> dict[int, list[_S]]:
    children: dict[int, list[_S]] = {}
    for step in steps:  # in sequence order already
        if step.parent_id is not None:
            children.setdefault(step.parent_id, []).append(step)
    return children


def _subtree(root: _S, children: Mapping[int, list[_S]], runs: Any) -> list[_S]:
    """``root`` and its descendants reached through steps for which ``runs`` holds (the code
    that runs for real in the test), in sequence order."""
    found = [root]
    stack = [root]
    while stack:
        for child in children.get(stack.pop().id, ()):
            if runs(child):
                found.append(child)
                stack.append(child)
    return sorted(found, key=lambda s: s.sequence)


def _calls_out(children: Mapping[int, list[_S]], ran: Sequence[_S]) -> list[_S]:
    """The calls out of the code that runs (``ran``) into other functions, in call order."""
    inside = {step.id for step in ran}
    out = [child for step in ran for child in children.get(step.id, ()) if child.id not in inside]
    return sorted(out, key=lambda s: s.sequence)


def _stubbed(
    step: StepRecord,
    stubs: Mapping[str, tuple[Module, Parameters]],
    where: str,
    problems: list[str],
) -> StubbedCall:
    name = (step.function or "").partition("/")[2]
    label = f"call of {step.name} (step {step.id})"
    if name not in stubs or step.name != name:
        raise UntestableStep(
            where,
            f"the {label} goes into {step.function or 'unknown code'} other than through its "
            "entry point: it cannot be stubbed; generate the test with live calls",
        )
    if step.status in (StepStatus.RUNNING, StepStatus.INTERRUPTED):
        raise UntestableStep(where, f"the {label} is {step.status}: it has no outcome to replay")
    if step.generator is not None:
        raise UntestableStep(
            where, f"the {label} made a generator: it cannot be stubbed; use live calls"
        )
    inputs = {param: recorded_value(value) for param, value in step.inputs.items()}
    return StubbedCall(
        step=step,
        name=name,
        inputs=inputs,
        outcome=_outcome(step, f"the output of the {label}", problems, digest_will_do=False),
    )


def _outcome(
    step: StepRecord, what: str, problems: list[str], *, digest_will_do: bool = True
) -> Outcome:
    """What ``step`` did. A value that is not exact goes to ``problems``, except an output
    cut with its digest recorded when ``digest_will_do`` (checked, never returned)."""
    if step.status == StepStatus.FAILED or step.error is not None:
        error = step.error or {}
        return Outcome(
            error_type=str(error.get("type") or "Exception"), message=str(error.get("message", ""))
        )
    captured = step.output
    if captured is None:
        problems.append(f"{what} was not recorded")
        return Outcome(output=Value("None", problem="was not recorded"))
    value = recorded_value(captured)
    digest, kind, length = captured.get("sha256"), captured.get("type"), captured.get("length")
    if (
        digest_will_do
        and value.problem is not None
        and captured.get("truncated")
        and isinstance(digest, str)
        and kind in ("str", "bytes")
        and isinstance(length, int)
    ):
        return Outcome(output_sha256=(kind, digest, length))
    if value.by_identity:
        value = dataclasses.replace(
            value,
            problem="holds instances of classes without their own __eq__ "
            "(== would compare identities)",
        )
    if value.problem is not None:
        problems.append(f"{what} {value.problem}")
    return Outcome(output=value)


def _check_aggregates(ran: Sequence[StepRecord], others: Mapping[str, Module], where: str) -> None:
    """Calls past the step budget were counted, not recorded: those into other functions
    cannot be stubbed."""
    for step in ran:
        rows = list(step.aggregates)
        while rows:
            row = rows.pop()
            if row.get("name") in others:
                raise UntestableStep(
                    where,
                    f"{row.get('count')} calls of {row['name']} under step {step.id} were past "
                    "the step budget (counted, not recorded): they cannot be stubbed; "
                    "generate the test with live calls",
                )
            rows.extend(row.get("children") or ())


def _printed(target: StepRecord, ran: Sequence[StepRecord]) -> tuple[str | None, str | None]:
    """The printed output the test checks, or why it checks none."""
    if target.stdout_truncated:
        return None, "not checked: the recorded printed output was truncated"
    if any(step.stdout for step in ran if step.id != target.id):
        return None, "not checked: several recorded calls printed (their order is not recorded)"
    return target.stdout, None


# --- parameters, from the source ---------------------------------------------------------

_ANY_PARAMETERS = Parameters(
    names=("args", "kwargs"),
    positional=(),
    positional_only=(),
    vararg="args",
    kwarg="kwargs",
    is_async=False,
    stub_signature="(*args, **kwargs)",
    unknown_defaults=(),
)


def _parameters(source: str, qualname: str) -> Parameters | None:
    """The parameters of the ``def`` named ``qualname`` (``f`` or ``Class.method``) at the
    top of ``source`` (the last definition wins, as when the module runs)."""
    try:
        body: Sequence[ast.stmt] = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    parts = qualname.split(".")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        kinds = (ast.FunctionDef, ast.AsyncFunctionDef) if last else (ast.ClassDef,)
        matches = [n for n in body if isinstance(n, kinds) and n.name == part]
        if not matches:
            return None
        node = matches[-1]
        if isinstance(node, ast.ClassDef):
            body = node.body
        elif last:
            found = node
    if found is None:
        return None
    arguments = found.args
    unknown: list[str] = []

    def default(node: ast.expr | None, name: str) -> ast.expr | None:
        if node is None:
            return None
        try:
            ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            unknown.append(name)
            return ast.Name("NOT_RECORDED")
        return node

    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults.extend(arguments.defaults)
    stub = ast.arguments(
        posonlyargs=[ast.arg(a.arg) for a in arguments.posonlyargs],
        args=[ast.arg(a.arg) for a in arguments.args],
        vararg=ast.arg(arguments.vararg.arg) if arguments.vararg else None,
        kwonlyargs=[ast.arg(a.arg) for a in arguments.kwonlyargs],
        kw_defaults=[
            default(d, a.arg)
            for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
        ],
        kwarg=ast.arg(arguments.kwarg.arg) if arguments.kwarg else None,
        defaults=[
            d
            for d in (default(d, a.arg) for a, d in zip(positional, defaults, strict=True))
            if d is not None
        ],
    )
    every = [*positional, arguments.vararg, *arguments.kwonlyargs, arguments.kwarg]
    return Parameters(
        names=tuple(a.arg for a in every if a is not None),
        positional=tuple(a.arg for a in positional),
        positional_only=tuple(a.arg for a in arguments.posonlyargs),
        vararg=arguments.vararg.arg if arguments.vararg else None,
        kwarg=arguments.kwarg.arg if arguments.kwarg else None,
        is_async=isinstance(found, ast.AsyncFunctionDef),
        stub_signature=f"({ast.unparse(stub)})",
        unknown_defaults=tuple(unknown),
    )


def _preview_source(preview: Any) -> str:
    import pprint

    try:
        return pprint.pformat(preview, width=88, sort_dicts=False)
    except RecursionError:
        return "None"
