"""Answers of the value search (``GET /api/v1/find``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import ResponseModel
from .executions import ExecutionOut


class FoundStep(ResponseModel):
    """A step that handled the value: as an input (under ``key``: the parameter, mapping key
    or field it was found under) or in its output. Step 0 is the execution's own input as it
    was before redaction (its redacted parts are in no step's preview)."""

    step_id: int
    kind: Literal["input", "output"]
    key: str
    name: str | None = Field(
        default=None, description="The step's function, qualified (None for step 0)."
    )
    function: str | None = Field(
        default=None, description="namespace/name of the step's function, when known."
    )


class FoundExecution(ResponseModel):
    """An execution that handled the value, and the steps that did."""

    execution: ExecutionOut
    steps: list[FoundStep]


class FindPage(ResponseModel):
    """A page of executions that handled a value, newest first; pass ``next_cursor`` as
    ``cursor`` for the next page (``null`` on the last one)."""

    results: list[FoundExecution]
    next_cursor: str | None
