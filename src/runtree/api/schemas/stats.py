"""Per-version statistics of a function."""

from __future__ import annotations

from ... import service
from .base import ResponseModel, from_record


class SlowStepOut(ResponseModel):
    """One function's steps across recent runs, ranked by their total own time."""

    name: str
    function: str | None
    calls: int
    runs: int
    total_self_ns: int
    mean_self_ns: int
    max_self_ns: int
    slowest_execution_id: str
    slowest_step_id: int


class VersionStatsOut(ResponseModel):
    """Runs of one version. ``error_rate`` is failed + timed out + crashed over those plus
    succeeded (cancelled runs count neither way); percentiles (nearest rank) are over the
    newest ``sampled`` finished runs; ``slowest_steps`` (only for the version asked about,
    else ``null``) are over its newest ``recent_runs`` finished runs."""

    version: int
    runs: int
    statuses: dict[str, int]
    error_rate: float | None
    sampled: int
    p50_ms: int | None
    p95_ms: int | None
    p99_ms: int | None
    recent_runs: int
    slowest_steps: list[SlowStepOut] | None


class FunctionStatsOut(ResponseModel):
    """Statistics of every version of a function, newest version first."""

    function: str
    versions: list[VersionStatsOut]


def function_stats_out(stats: service.FunctionStats) -> FunctionStatsOut:
    return from_record(
        FunctionStatsOut,
        stats,
        function=f"{stats.namespace}/{stats.name}",
        versions=[
            from_record(
                VersionStatsOut,
                v,
                slowest_steps=None
                if v.slowest_steps is None
                else [
                    from_record(SlowStepOut, s, mean_self_ns=s.total_self_ns // max(1, s.calls))
                    for s in v.slowest_steps
                ],
            )
            for v in stats.versions
        ],
    )
