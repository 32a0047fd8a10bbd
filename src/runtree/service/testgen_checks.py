"""What a generated test can check exactly, and what it cannot.

Each recorded value becomes test source (:func:`recorded_value`): a literal or an embedded
pickle when it was recorded exactly, else its preview with the reason it is not the value.
:func:`outcome_of` is what a call returned or raised, :func:`stubbed_call` a call into
another function that a stub answers; both add to ``problems`` what is only a preview, which
makes the generator refuse or write an xfail test. :func:`check_aggregates` refuses calls
that were counted but not recorded, and :func:`printed_output` says whether printed output
is checked.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import UntestableStep
from ..models import StepRecord, StepStatus
from .pickle_literal import literal_source
from .testgen_parameters import Parameters
from .testgen_plan import Module, Outcome, StubbedCall, Value

# How a pickle refers to the function that rebuilds an instance from its raw state.
_RAW_INSTANCES = b"runtree.tracking.raw_state"


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


def stubbed_call(
    step: StepRecord,
    stubs: Mapping[str, tuple[Module, Parameters]],
    where: str,
    problems: list[str],
) -> StubbedCall:
    """``step``, a call out of the tested code, as a call a stub answers; raises
    :class:`UntestableStep` when a stub cannot answer it."""
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
        outcome=outcome_of(step, f"the output of the {label}", problems, digest_will_do=False),
    )


def outcome_of(
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


def check_aggregates(ran: Sequence[StepRecord], others: Mapping[str, Module], where: str) -> None:
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


def printed_output(target: StepRecord, ran: Sequence[StepRecord]) -> tuple[str | None, str | None]:
    """The printed output the test checks, or why it checks none."""
    if target.stdout_truncated:
        return None, "not checked: the recorded printed output was truncated"
    if any(step.stdout for step in ran if step.id != target.id):
        return None, "not checked: several recorded calls printed (their order is not recorded)"
    return target.stdout, None


def _preview_source(preview: Any) -> str:
    import pprint

    try:
        return pprint.pformat(preview, width=88, sort_dicts=False)
    except RecursionError:
        return "None"
