"""The test function of a generated pytest file: it loads the modules, expects the stubbed
calls in recorded order, calls the function with its recorded inputs and checks what it
returned or raised and what it printed. A value that is only a preview gets a ``TODO``
comment next to it."""

from __future__ import annotations

from .testgen_exceptions import Exceptions, error_args
from .testgen_plan import StubbedCall, TestPlan, Value
from .testgen_source import WIDTH, ascii_name, call_of, comment_text, indented, source_name


def render_test_function(plan: TestPlan, exceptions: Exceptions) -> str:
    """The test function's source; the exception types it names go into ``exceptions``."""
    module_name = plan.module.module
    lines: list[str] = []
    if plan.xfail_reason is not None:
        lines.append(f"@pytest.mark.xfail(strict=True, reason={plan.xfail_reason!r})")
    fixture = "capsys" if plan.stdout is not None else ""
    test_name = ascii_name(plan.qualname)
    lines.append(f"def test_{test_name}_step_{plan.step.id}({fixture}):")
    sources = [f"{m.module!r}: {source_name(m)}" for m in [plan.module, *plan.live_modules]]
    stubs = "stubs()" if plan.stubs else "{}"
    flat = f"    modules = load({{{', '.join(sources)}}}, {stubs})"
    if len(flat) > WIDTH:
        flat = (
            "    modules = load(\n        {\n"
            + indented(",\n".join(sources), 12)
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
            lines.append(indented(_call_entry(stubbed, exceptions), 8) + ",")
        lines.append("    )")
    call = _call_expression(plan)
    outcome = plan.outcome
    if outcome.error_type is not None:
        lines.append(
            f"    with pytest.raises({exceptions.expression(outcome.error_type)}) as raised:"
        )
        lines.append(indented(call, 8))
        lines.append(f"    assert str(raised.value) == {outcome.message!r}")
    elif outcome.output_sha256 is not None:
        kind, digest, length = outcome.output_sha256
        encode = '.encode("utf-8", "surrogatepass")' if kind == "str" else ""
        lines.append(indented(f"result = {call}", 4))
        lines.append("    # the output was over the capture budget: its type, length and digest")
        lines.append(f"    assert type(result).__name__ == {kind!r} and len(result) == {length}")
        lines.append(f"    assert hashlib.sha256(result{encode}).hexdigest() == {digest!r}")
    else:
        assert outcome.output is not None
        lines.append(indented(f"result = {call}", 4))
        lines.append(_value_comment(outcome.output, "the output", 4))
        lines.append(indented(f"expected = {outcome.output.source}", 4))
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
    expression = call_of(f"module.{plan.qualname}", arguments, indent=20)
    return f"asyncio.run({expression})" if parameters.is_async else expression


def _call_entry(call: StubbedCall, exceptions: Exceptions) -> str:
    lines = [f"# step {call.step.id}: {call.step.name}"]
    checked = []
    for name, value in call.inputs.items():
        if value.problem is not None:
            lines.append(f"# argument {name!r} is not checked: it {comment_text(value.problem)}")
            continue
        if value.by_identity:
            lines.append(
                f"# argument {name!r} is not checked: it holds instances of classes without"
                " their own __eq__"
            )
            continue
        checked.append(f"{name!r}: {value.source}")
    inputs = "{" + ", ".join(checked) + "}"
    if len(inputs) > WIDTH - 20:
        inputs = "{\n" + indented(",\n".join(checked), 4) + ",\n}"
    outcome = call.outcome
    if outcome.error_type is not None:
        args = error_args(outcome.error_type, outcome.message or "")
        answer = f"raises=recorded_error({exceptions.expression(outcome.error_type)}, {args})"
    else:
        assert outcome.output is not None  # a stub returns an exact value (or a preview: xfail)
        comment = _value_comment(outcome.output, "its output", 0)
        if comment:
            lines.append(comment)
        answer = f"returns={outcome.output.source}"
    lines.append(
        call_of("Call", [repr(call.name), f"step={call.step.id}", f"inputs={inputs}", answer])
    )
    return "\n".join(lines)


def _value_comment(value: Value, what: str, indent: int) -> str:
    if value.by_identity:
        text = f"# TODO {what} holds instances compared by identity: compare their fields"
    elif value.problem is not None:
        text = f"# TODO {what} {comment_text(value.problem)}: below is its preview, not the value"
    elif value.pickled:
        text = f"# {what}: not plain data, so embedded as a pickle and decoded in this process"
    else:
        return ""
    return " " * indent + text
