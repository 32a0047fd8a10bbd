"""A recorded step becomes a regression test (``runtree test-from EXECUTION[:STEP]``).

:func:`generate_test` reads one step of an execution and what it needs -- the source of its
function's version, its recorded inputs and outcome, and (unless ``live``) the calls it made
into other deployed functions with their recorded outcomes -- checks that each value the test
depends on was recorded exactly, and hands a :class:`~.testgen_plan.TestPlan` to
:mod:`.testgen_render`, which writes the pytest file.

What "recorded exactly" means: a captured value with a serialized copy that is not
truncated, not redacted and holds no stand-in for something that could not be serialized.
A value that only has a preview makes the generator refuse (:class:`UntestableStep`, naming
it), or with ``xfail`` write the test with the preview in its place, marked as a strict
xfail with the reason: never a test that passes without checking what was recorded.

The server never unpickles: a serialized copy is either read as a literal by
:mod:`.pickle_literal` (plain builtin data only, without unpickling) or embedded as base64
for the generated test to decode in the user's own process.

The planning is in four modules: :mod:`.testgen_steps` picks the step and the steps around
it, :mod:`.testgen_parameters` reads its function's parameters from the recorded source,
:mod:`.testgen_checks` decides what the test can check exactly, and :mod:`.testgen_plan`
holds the result.
"""

from __future__ import annotations

from ..errors import InvalidOption, NotFoundError, UntestableStep
from ..models import GeneratedTest, StepStatus, StepSummary
from ..store import Store
from .testgen_checks import (
    check_aggregates,
    outcome_of,
    printed_output,
    recorded_value,
    stubbed_call,
)
from .testgen_parameters import ANY_PARAMETERS, Parameters, parameters_of
from .testgen_plan import Module, StubbedCall, TestPlan
from .testgen_render import render, test_filename
from .testgen_steps import (
    calls_out,
    children_of,
    load_steps,
    module_of,
    nested_message,
    select_step,
    subtree,
)


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
    chosen = select_step(execution, summaries, step)
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
        raise UntestableStep(where, nested_message(chosen, summaries))
    children = children_of(summaries)
    if live:
        ran_summaries = subtree(chosen, children, lambda _step: True)
        out: list[StepSummary] = []
    else:
        ran_summaries = subtree(chosen, children, lambda s: s.function == chosen.function)
        out = calls_out(children, ran_summaries)
    full = load_steps(store, execution_id, [s.id for s in [*ran_summaries, *out]])
    target = full[chosen.id]
    ran = [full[s.id] for s in ran_summaries]
    module = module_of(store, execution, target, where)
    parameters = parameters_of(module.version.source, target.name)
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
    outcome = outcome_of(target, "the output", problems)
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
            stubs[name] = (other, parameters_of(other.version.source, name) or ANY_PARAMETERS)
        for called in out:
            calls.append(stubbed_call(full[called.id], stubs, where, problems))
        check_aggregates(ran, others, where)
    stdout, stdout_note = printed_output(target, ran)
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
