"""Endpoints of the analyses across a function's runs: flame graphs (of a version or a time
range), the differential flame graph of two, and performance blame between two versions."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..service import history
from .problems import problem_responses
from .routes import API_PREFIX, Name, Namespace, RuntimeDep
from .schemas import MAX_VERSION
from .schemas.history import BlameOut, FlameDiffOut, FlameGraphOut

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))

Version = Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="A version number.")]
Moment = Annotated[
    datetime.datetime | None,
    Query(
        description="ISO 8601 (without a zone it is UTC): runs created at or after `since`, "
        "before `until`."
    ),
]
Runs = Annotated[
    int, Query(ge=1, le=history.MAX_RUNS, description="The newest finished runs to use.")
]


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=datetime.UTC)


def _selection(
    version: int | None, since: datetime.datetime | None, until: datetime.datetime | None, runs: int
) -> history.Selection:
    return history.Selection(version=version, since=_aware(since), until=_aware(until), runs=runs)


@router.get(
    "/functions/{namespace}/{name}/flame",
    tags=["functions"],
    response_model=FlameGraphOut,
    responses=problem_responses(404),
)
def flame_graph(
    namespace: Namespace,
    name: Name,
    rt: RuntimeDep,
    version: Version = None,
    since: Moment = None,
    until: Moment = None,
    runs: Runs = history.DEFAULT_RUNS,
) -> Any:
    """Own time by call path over a function's recent runs (of one version, or of all in a
    time range): an icicle / flame graph. Direct recursion is one path."""
    return history.flame_document(
        rt.store, namespace, name, _selection(version, since, until, runs)
    )


@router.get(
    "/functions/{namespace}/{name}/flame/diff",
    tags=["functions"],
    response_model=FlameDiffOut,
    responses=problem_responses(404),
)
def flame_diff(
    namespace: Namespace,
    name: Name,
    rt: RuntimeDep,
    from_: Annotated[
        int | None, Query(alias="from", ge=1, le=MAX_VERSION, description="The old version.")
    ] = None,
    to: Annotated[int | None, Query(ge=1, le=MAX_VERSION, description="The new version.")] = None,
    from_since: Moment = None,
    from_until: Moment = None,
    to_since: Moment = None,
    to_until: Moment = None,
    runs: Runs = history.DEFAULT_RUNS,
) -> Any:
    """The differential flame graph from one set of runs to another -- two versions, two
    time ranges, or both: per call path, own time and calls per run on each side, and the
    change."""
    return history.flame_diff_document(
        rt.store,
        namespace,
        name,
        _selection(from_, from_since, from_until, runs),
        _selection(to, to_since, to_until, runs),
    )


@router.get(
    "/functions/{namespace}/{name}/blame",
    tags=["functions"],
    response_model=BlameOut,
    responses=problem_responses(404),
)
def blame_function(
    namespace: Namespace,
    name: Name,
    rt: RuntimeDep,
    from_: Annotated[
        int | None,
        Query(
            alias="from",
            ge=1,
            le=MAX_VERSION,
            description="The old version (default: the newest older one with runs).",
        ),
    ] = None,
    to: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="The new version (default: current).")
    ] = None,
    runs: Runs = history.DEFAULT_RUNS,
) -> Any:
    """Performance blame: per call path, own and total time per run (p50/p95, n) in each
    version, a Mann-Whitney U test of the change, the paths flagged slower or faster or
    failing more often, and the source hunks of the functions on each flagged path."""
    return history.blame_document(
        rt.store, namespace, name, from_version=from_, to_version=to, runs=runs
    )
