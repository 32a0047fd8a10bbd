"""Endpoints of functions and their versions: deploy, list, read, diff two versions, and a
function's run statistics (all under ``/api/v1``; access is checked by
:func:`runtree.api.auth.access`). Starting an execution is :mod:`.routes_run`; shadow reports
and promoting a version are :mod:`.routes_shadow`."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from .. import service
from ..models import VersionRecord
from ..service.server import Server
from ..store import NotFoundError
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, Name, Namespace, RuntimeDep
from .schemas import (
    MAX_VERSION,
    DeployOut,
    DeployRequest,
    DiffOut,
    FunctionDetail,
    FunctionList,
    FunctionStatsOut,
    VersionDetail,
    VersionList,
    deploy_out,
    function_detail,
    function_out,
    function_stats_out,
    version_detail,
    version_out,
)

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))


@router.put(
    "/functions/{namespace}/{name}",
    tags=["functions"],
    response_model=DeployOut,
    status_code=200,
    responses={
        200: {"description": "Identical to the latest version, which is returned unchanged"},
        201: {"model": DeployOut, "description": "A new version was created"},
        **problem_responses(413),
    },
)
def deploy_function(
    namespace: Namespace,
    name: Name,
    body: DeployRequest,
    response: Response,
    rt: RuntimeDep,
    caller: Caller,
    shadow: Annotated[
        int | None,
        Query(
            ge=1,
            le=service.shadow.MAX_SHADOW_RUNS,
            description="Store the version without making it current, and replay this many "
            "of the current version's latest recorded inputs against it (a shadow report: "
            "`shadow_report` in the answer). A function's first version becomes current.",
        ),
    ] = None,
) -> DeployOut:
    """Deploy ``code`` as the next version of ``namespace/name``: 201 with the new version,
    or 200 with the latest one when source and settings are unchanged. Code that cannot be
    compiled or lacks the entry point is a 422 with ``line`` and ``column``; nothing is
    stored then. With ``shadow=N`` the version is not made current: a shadow report replays
    recorded inputs against it (``GET .../shadow-reports/{id}``); promote it with
    ``POST .../versions/{number}/promote``."""
    settings = service.make_settings(
        timeout_s=body.timeout_s,
        memory_mb=body.memory_mb,
        tracking=body.tracking,
        network=body.network,
        subprocesses=body.subprocesses,
        queue=body.queue,
        retries=body.retries,
    )
    result = service.deploy_function(
        rt.store,
        caller,
        namespace,
        name,
        body.code,
        settings=settings,
        description=body.description,
        known_functions=frozenset(body.known_functions),
        shadow=shadow,
        dispatcher=rt.dispatcher,
    )
    version = result.version
    response.status_code = 201 if result.created else 200
    response.headers["Location"] = (
        f"{API_PREFIX}/functions/{version.namespace}/{version.name}/versions/{version.number}"
    )
    return deploy_out(result)


@router.get("/functions", tags=["functions"], response_model=FunctionList)
def list_functions(
    rt: RuntimeDep,
    caller: Caller,
    namespace: Annotated[str | None, Query(description="Only this namespace.")] = None,
) -> FunctionList:
    """Every function (of ``namespace``, if given; a namespaced key sees its own namespace),
    sorted by namespace and name."""
    found = rt.store.list_functions(caller.scope(namespace))
    return FunctionList(functions=[function_out(f) for f in found])


@router.get(
    "/functions/{namespace}/{name}",
    tags=["functions"],
    response_model=FunctionDetail,
    responses=problem_responses(404),
)
def get_function(namespace: Namespace, name: Name, rt: RuntimeDep) -> FunctionDetail:
    """One function with its current version (including that version's source)."""
    function = rt.store.get_function(namespace, name)
    if function is None:
        raise NotFoundError("function", f"{namespace}/{name}")
    return function_detail(function, rt.store.get_version(namespace, name))


@router.get(
    "/functions/{namespace}/{name}/versions",
    tags=["functions"],
    response_model=VersionList,
    responses=problem_responses(404),
)
def list_versions(namespace: Namespace, name: Name, rt: RuntimeDep) -> VersionList:
    """Every version of a function, oldest first (without sources)."""
    versions = rt.store.list_versions(namespace, name)
    if not versions and rt.store.get_function(namespace, name) is None:
        raise NotFoundError("function", f"{namespace}/{name}")
    return VersionList(versions=[version_out(v) for v in versions])


@router.get(
    "/functions/{namespace}/{name}/versions/{number}",
    tags=["functions"],
    response_model=VersionDetail,
    responses=problem_responses(404),
)
def get_version(
    namespace: Namespace,
    name: Name,
    number: Annotated[int, Path(ge=1, le=MAX_VERSION, description="Version number.")],
    rt: RuntimeDep,
) -> VersionDetail:
    """One version with its source."""
    return version_detail(_version(rt, namespace, name, number))


@router.get(
    "/functions/{namespace}/{name}/diff",
    tags=["functions"],
    response_model=DiffOut,
    responses=problem_responses(404),
)
def diff_versions(
    namespace: Namespace,
    name: Name,
    rt: RuntimeDep,
    from_: Annotated[
        int, Query(alias="from", ge=1, le=MAX_VERSION, description="The older version number.")
    ],
    to: Annotated[int, Query(ge=1, le=MAX_VERSION, description="The newer version number.")],
) -> DiffOut:
    """A unified diff of two versions' sources, and the settings that differ."""
    old = _version(rt, namespace, name, from_)
    new = _version(rt, namespace, name, to)
    return DiffOut(
        function=f"{namespace}/{name}",
        from_version=old.number,
        to_version=new.number,
        diff=source_diff(old, new),
        settings=settings_changes(old.settings, new.settings),
    )


@router.get(
    "/functions/{namespace}/{name}/stats",
    tags=["functions"],
    response_model=FunctionStatsOut,
    responses=problem_responses(404),
)
def function_stats(
    namespace: Namespace,
    name: Name,
    rt: RuntimeDep,
    version: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_VERSION,
            description="The version whose slowest steps to work out (default: current).",
        ),
    ] = None,
    recent: Annotated[
        int,
        Query(
            ge=1,
            le=service.explore.MAX_RECENT_RUNS,
            description="How many of that version's newest finished runs to rank steps over.",
        ),
    ] = 20,
) -> FunctionStatsOut:
    """Per version: runs by status, error rate, p50/p95/p99 duration; and for one version the
    steps with the most own time across its recent runs."""
    stats = service.function_stats(rt.store, namespace, name, steps_of=version, recent_runs=recent)
    return function_stats_out(stats)


def _version(rt: Server, namespace: str, name: str, number: int) -> VersionRecord:
    return rt.store.require_version(namespace, name, number)


def source_diff(old: VersionRecord, new: VersionRecord) -> str:
    """``diff -u`` of two versions' sources (empty when equal)."""
    lines = difflib.unified_diff(
        old.source.splitlines(),
        new.source.splitlines(),
        fromfile=f"{old.qualified_name}.py v{old.number}",
        tofile=f"{new.qualified_name}.py v{new.number}",
        lineterm="",
    )
    text = "\n".join(lines)
    return text + "\n" if text else ""


def settings_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {"old": old.get(key), "new": new.get(key)}
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    }
