"""What deploying produces besides versions: the deploy result, shadow replays of a new
version, and pytest files generated from recorded steps."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from .functions import VersionRecord


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratedTest:
    """A pytest file made from a recorded step (``runtree test-from``): ``filename``
    (``test_….py``), ``text``, the step it tests, how many calls it stubs, and the reason it
    is marked xfail (``None``: it is not)."""

    __test__ = False  # not a pytest test class

    filename: str
    text: str
    execution_id: str
    step_id: int
    stubbed_calls: int
    xfail_reason: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class ShadowReportRecord:
    """A shadow replay of version ``version`` of a function: recorded inputs of
    ``baseline_version`` (current when it started) run against it as executions with trigger
    ``shadow``. ``requested`` is how many inputs were asked for; ``skipped`` lists the
    recorded executions left out, each ``{"execution_id", "reason"}``."""

    id: str
    function_id: int
    namespace: str
    name: str
    version: int
    baseline_version: int
    requested: int
    skipped: list[dict[str, Any]]
    created_at: datetime.datetime
    created_by: str | None

    @property
    def qualified_name(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class DeployResult:
    """A deployed version, and whether it is new (``False``: the identical latest one).
    ``current`` says whether it is now the function's current version (a shadowed deploy
    leaves it stored but not current); ``shadow_report`` is the id of the shadow report
    started for it, if any."""

    version: VersionRecord
    created: bool
    current: bool = True
    shadow_report: str | None = None
