"""Response bodies of the analyses across runs: flame graphs and performance blame."""

from __future__ import annotations

from typing import Literal

from .base import ResponseModel


class SelectionOut(ResponseModel):
    """Which runs: of ``version`` (``null``: any), created in ``[since, until)``, the newest
    ``runs`` finished ones."""

    version: int | None
    since: str | None
    until: str | None
    runs: int


class FlameNode(ResponseModel):
    """A call path: ``parent`` is the parent node's id (``null`` for roots); ``value_ns``
    (the width) is the own time of its whole subtree, ``self_ns`` its own; summed over the
    runs."""

    id: int
    parent: int | None
    name: str
    function: str | None
    self_ns: int
    value_ns: int
    calls: int
    runs: int


class FlameGraphOut(ResponseModel):
    """Own time by call path over the selected runs; nodes depth-first, heaviest first."""

    function: str
    selection: SelectionOut
    runs: int
    total_ns: int
    truncated: bool
    nodes: list[FlameNode]


class FlameDiffNode(ResponseModel):
    """A call path in both sets of runs, per run (means): own time, subtree value and calls
    on each side; ``value_ns`` (the width) is the larger value; ``change`` is (new - old) /
    max(old, new) of own time, ``null`` where the path ran on one side only."""

    id: int
    parent: int | None
    name: str
    function: str | None
    old_self_ns: int
    new_self_ns: int
    old_value_ns: int
    new_value_ns: int
    value_ns: int
    old_calls: float
    new_calls: float
    old_runs: int
    new_runs: int
    change: float | None


class FlameDiffOut(ResponseModel):
    function: str
    old: SelectionOut
    new: SelectionOut
    old_runs: int
    new_runs: int
    truncated: bool
    nodes: list[FlameDiffNode]


class DistributionOut(ResponseModel):
    """A path over one version's runs that reached it: own and total time per run."""

    runs: int
    self_p50_ns: int
    self_p95_ns: int
    total_p50_ns: int
    total_p95_ns: int
    calls_p50: int
    failures: int


class ErrorFlagOut(ResponseModel):
    old_rate: float
    new_rate: float
    new: bool
    p_value: float | None
    message: str


class HunkOut(ResponseModel):
    """A hunk of ``function``'s diff; ``touches``: the functions on the path it changes."""

    function: str
    from_version: int
    to_version: int
    header: str
    lines: list[str]
    touches: list[str]


class BlamedPath(ResponseModel):
    path: list[str]
    functions: list[str | None]
    old: DistributionOut | None
    new: DistributionOut | None
    tested: bool
    p_value: float | None
    ratio: float | None
    verdict: Literal["slower", "faster"] | None
    errors: ErrorFlagOut | None
    hunks: list[HunkOut]


class BlameRules(ResponseModel):
    min_runs: int
    alpha: float
    min_ratio: float
    min_delta_ns: int
    test: str
    adjustment: str


class BlameOut(ResponseModel):
    """Per call path, own/total time per run in each version, the Mann-Whitney U test of
    the change (Benjamini-Hochberg adjusted), the verdict, new errors and the hunks on each
    flagged path; flagged paths first."""

    function: str
    from_version: int
    to_version: int
    old_runs: int
    new_runs: int
    old_versions: dict[str, int]
    new_versions: dict[str, int]
    rules: BlameRules
    more: int
    paths: list[BlamedPath]
