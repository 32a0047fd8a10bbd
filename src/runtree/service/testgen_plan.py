"""What a generated test says: a :class:`TestPlan` and its parts, as
:func:`.testgen.plan_test` chose them from the recording and :func:`.testgen_render.render`
writes them. Plain frozen records: no reading, no rendering."""

from __future__ import annotations

import dataclasses

from ..models import ExecutionRecord, StepRecord, VersionRecord
from .testgen_parameters import Parameters


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
