"""Which recorded steps a generated test is about: the step asked for (by id or by the name
of a function that ran), the steps that run for real inside the test, the calls out of them
that stubs answer, and the deployed version whose module the test loads. Reads the store;
raises :class:`NotFoundError`, :class:`InvalidOption` or :class:`UntestableStep`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from ..errors import InvalidOption, NotFoundError, UntestableStep
from ..models import ExecutionRecord, StepRecord, StepSummary
from ..store import Store
from .testgen_plan import Module

MAX_STEP_SPEC = 300
_NAME_SPEC = re.compile(r"[A-Za-z_][\w.<>]*")
_S = TypeVar("_S", StepSummary, StepRecord)
_LOAD_ONE_BY_ONE = 64  # up to this many steps, read each; past it, read them all at once


def load_steps(store: Store, execution_id: str, ids: Sequence[int]) -> dict[int, StepRecord]:
    """The steps ``ids`` of the execution in full, with their serialized values."""
    if len(ids) <= _LOAD_ONE_BY_ONE:
        found = (store.get_step(execution_id, step_id, include_blobs=True) for step_id in ids)
        return {step.id: step for step in found if step is not None}
    wanted = set(ids)
    steps = store.get_steps(execution_id, include_blobs=True)
    return {step.id: step for step in steps if step.id in wanted}


def select_step(execution: ExecutionRecord, steps: Sequence[_S], spec: str | None) -> _S:
    """The step ``spec`` names: the root step when ``None``, else a step id or the name of a
    function (qualified, or its last part), its first call in ``steps`` (in call order)."""
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


def module_of(store: Store, execution: ExecutionRecord, step: StepRecord, where: str) -> Module:
    """The deployed function version ``step`` ran in, as the module the test loads."""
    if step.function is None or step.version is None:
        raise UntestableStep(
            where, f"step {step.id} ({step.name}) belongs to no deployed function version"
        )
    namespace, _, name = step.function.partition("/")
    version = store.get_version(namespace, name, step.version)
    if version is None:
        raise NotFoundError("version", f"{step.function} v{step.version}")
    return Module(name, version)


def nested_message(step: _S, steps: Sequence[_S]) -> str:
    """Why a function defined inside another cannot be tested, naming the nearest caller
    that can."""
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


def children_of(steps: Sequence[_S]) -> dict[int, list[_S]]:
    """Each step's children by its id, in sequence order."""
    children: dict[int, list[_S]] = {}
    for step in steps:  # in sequence order already
        if step.parent_id is not None:
            children.setdefault(step.parent_id, []).append(step)
    return children


def subtree(root: _S, children: Mapping[int, list[_S]], runs: Any) -> list[_S]:
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


def calls_out(children: Mapping[int, list[_S]], ran: Sequence[_S]) -> list[_S]:
    """The calls out of the code that runs (``ran``) into other functions, in call order."""
    inside = {step.id for step in ran}
    out = [child for step in ran for child in children.get(step.id, ()) if child.id not in inside]
    return sorted(out, key=lambda s: s.sequence)
