"""The endpoints of ``/api/v1`` (docs/http-api.md) and ``/healthz``.

Endpoints translate HTTP to calls of :mod:`runtree.service` and the store's reads, and records
to :mod:`.schemas` models; they decide nothing about functions or executions themselves. Plain
``def`` endpoints run in the threadpool (the store blocks); the run endpoint is ``async`` so a
request waiting for an execution holds no thread.
"""

from __future__ import annotations

import datetime
import difflib
import gzip
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from .. import service
from ..models import ExecutionRecord, ExecutionStatus, Trigger, VersionRecord
from ..service.server import Server
from ..service.trace_files import TraceFormat, export_trace, trace_filename
from ..store import NotFoundError
from .auth import Caller
from .problems import problem_responses
from .schemas import (
    MAX_VERSION,
    DeployOut,
    DeployRequest,
    DiffOut,
    ExecutionAccepted,
    ExecutionDetail,
    ExecutionOut,
    ExecutionOutline,
    ExecutionPage,
    FunctionDetail,
    FunctionList,
    FunctionStatsOut,
    Health,
    RunRequest,
    SandboxOut,
    StepDetailOut,
    StepPageOut,
    VersionDetail,
    VersionList,
    deploy_out,
    execution_out,
    function_detail,
    function_out,
    function_stats_out,
    outline_json,
    step_detail_out,
    step_page_out,
    version_detail,
    version_out,
)
from .schemas.base import from_record
from .schemas.detail_json import execution_detail_json, step_json
from .waiting import CompletionHub, get_hub, wait_finished

log = logging.getLogger("runtree.api")

API_PREFIX = "/api/v1"
# A waiting request gives an execution its own time limit plus this margin (the supervisor
# needs a moment to stop a worker and drain what it sent) before answering 202.
WAIT_MARGIN_S = 10.0
# Waiting starts without looking up the version's time limit; only a run still going after
# this long pays for that lookup.
FAST_WAIT_S = 1.0
EXECUTION_ID_PATTERN = "^[0-9a-f]{32}$"
FUNCTION_FILTER_PATTERN = r"^(\w+/)?\w+$"


async def get_runtime(request: Request) -> Server:
    """FastAPI dependency: the application's :class:`~runtree.service.server.Server` (async,
    so resolving it costs no thread hop)."""
    server: Server = request.app.state.runtime
    return server


RuntimeDep = Annotated[Server, Depends(get_runtime)]
HubDep = Annotated[CompletionHub, Depends(get_hub)]
Namespace = Annotated[str, Path(description="Namespace (a Python identifier).")]
Name = Annotated[str, Path(description="Function name: the entry point's name.")]
ExecutionId = Annotated[str, Path(description="Execution id (32 hex characters).")]

api = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))
health = APIRouter()


def execution_location(execution_id: str) -> str:
    return f"{API_PREFIX}/executions/{execution_id}"


# --- functions ----------------------------------------------------------------------------


@api.put(
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


@api.get("/functions", tags=["functions"], response_model=FunctionList)
def list_functions(
    rt: RuntimeDep,
    caller: Caller,
    namespace: Annotated[str | None, Query(description="Only this namespace.")] = None,
) -> FunctionList:
    """Every function (of ``namespace``, if given; a namespaced key sees its own namespace),
    sorted by namespace and name."""
    found = rt.store.list_functions(caller.scope(namespace))
    return FunctionList(functions=[function_out(f) for f in found])


@api.get(
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


@api.get(
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


@api.get(
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


@api.get(
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


@api.get(
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


# --- executions ---------------------------------------------------------------------------


@api.post(
    "/functions/{namespace}/{name}/executions",
    tags=["executions"],
    response_model=ExecutionOut,
    status_code=200,
    responses={
        200: {"description": "The finished execution (wait=true)"},
        202: {
            "model": ExecutionAccepted,
            "description": "Queued or still running (wait=false, or the wait timed out); "
            "the Location header names the execution",
        },
        **problem_responses(404, 413),
    },
)
async def run_function(
    namespace: Namespace,
    name: Name,
    body: RunRequest,
    rt: RuntimeDep,
    hub: HubDep,
    caller: Caller,
    request: Request,
) -> ExecutionOut | JSONResponse:
    """Start an execution with ``input`` (checked against the entry point first: a 422
    naming each parameter at fault, and no execution is created). With ``wait`` (the
    default) answer 200 with the finished execution, or 202 if it has not finished within
    ``timeout_s``; without, answer 202 at once."""
    record = await run_in_threadpool(
        service.run_function,
        rt.store,
        caller,
        namespace,
        name,
        body.input,
        version=body.version,
        trigger=Trigger.API,
        dispatcher=rt.dispatcher,
    )
    request.state.execution_id = record.id  # for the access log
    if body.wait:
        if body.timeout_s is not None:
            record = await wait_finished(rt.store, hub, record, body.timeout_s)
        else:
            record = await wait_finished(rt.store, hub, record, FAST_WAIT_S)
            if not record.finished:
                limit = await run_in_threadpool(_time_limit, rt, record)
                rest = max(0.0, limit + WAIT_MARGIN_S - FAST_WAIT_S)
                record = await wait_finished(rt.store, hub, record, rest)
        if record.finished:
            return execution_out(record)
    return JSONResponse(
        ExecutionAccepted(id=record.id, status=record.status).model_dump(mode="json"),
        status_code=202,
        headers={"Location": execution_location(record.id)},
    )


def _time_limit(rt: Server, record: ExecutionRecord) -> float:
    version = rt.store.get_version_by_id(record.version_id)
    settings = version.settings if version is not None else {}
    return float(settings.get("timeout_s", service.VersionSettings().timeout_s))


@api.get("/executions", tags=["executions"], response_model=ExecutionPage)
def list_executions(
    rt: RuntimeDep,
    caller: Caller,
    function: Annotated[
        str | None,
        Query(
            pattern=FUNCTION_FILTER_PATTERN,
            description="Only this function: namespace/name, or name in namespace default.",
        ),
    ] = None,
    status: Annotated[ExecutionStatus | None, Query(description="Only this status.")] = None,
    trigger: Annotated[Trigger | None, Query(description="Only this trigger.")] = None,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_VERSION, description="Only this version number (with function)."),
    ] = None,
    since: Annotated[
        datetime.datetime | None,
        Query(
            description="Only executions created at or after this time (ISO 8601; "
            "without a zone it is UTC)."
        ),
    ] = None,
    until: Annotated[
        datetime.datetime | None,
        Query(
            description="Only executions created before this time (ISO 8601; without a "
            "zone it is UTC)."
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=service.MAX_SEARCH_LENGTH,
            description="Search the input: executions whose input contains this text (as "
            "typed, or inside a JSON string), or with key=value, whose input has that key "
            "with exactly that value (read as JSON when it is JSON) at any depth.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST_LIMIT, description="Page size.")] = 50,
    cursor: Annotated[
        str | None,
        Query(pattern=EXECUTION_ID_PATTERN, description="next_cursor of the previous page."),
    ] = None,
    include_shadow: Annotated[
        bool,
        Query(
            description="Also list shadow runs (trigger shadow), which are left out by "
            "default; trigger=shadow lists only them."
        ),
    ] = False,
) -> ExecutionPage:
    """Executions, newest first, one page at a time (shadow runs only when asked for)."""
    namespace = name = None
    if function is not None:
        prefix, _, name = function.rpartition("/")
        namespace = prefix or "default"
    namespace = caller.scope(namespace)  # a namespaced key lists its own namespace only
    page, next_cursor = rt.store.search_executions(
        namespace=namespace,
        name=name,
        version=version,
        status=None if status is None else status.value,
        trigger=None if trigger is None else trigger.value,
        since=_aware(since),
        until=_aware(until),
        text=q,
        limit=limit,
        cursor=cursor,
        include_shadow=include_shadow,
    )
    return ExecutionPage(executions=[execution_out(e) for e in page], next_cursor=next_cursor)


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=datetime.UTC)


@api.get(
    "/executions/{execution_id}",
    tags=["executions"],
    response_model=ExecutionDetail,
    responses=problem_responses(404),
)
def get_execution(execution_id: ExecutionId, rt: RuntimeDep) -> Response:
    """One execution with its steps: a flat list in call order, each with its
    ``parent_id``. Captured values are JSON previews (never the serialized originals)."""
    record = _execution(rt, execution_id)
    # Up to the whole step budget: each step serialized as it is read, without a model per
    # step (schemas.detail_json). The app's middleware gzips it for clients that accept it.
    body = execution_detail_json(record, rt.store.map_steps(execution_id, step_json))
    return Response(body, media_type="application/json")


@api.get(
    "/executions/{execution_id}/outline",
    tags=["executions"],
    response_model=ExecutionOutline,
    responses=problem_responses(404),
)
def get_outline(execution_id: ExecutionId, rt: RuntimeDep, request: Request) -> Response:
    """The execution with every step as a summary (no captured values, no printed output),
    each step's own time and child count, the failing path and the critical path: enough
    to draw the whole tree at once. Fetch one step in full with ``/steps/{step_id}``."""
    outline = service.execution_outline(rt.store, execution_id)
    body = outline_json(outline)
    headers = {"Vary": "Accept-Encoding"}
    # Outlines run to megabytes and compress about twentyfold; level 1 costs milliseconds.
    if len(body) > 4096 and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=1, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


@api.get(
    "/executions/{execution_id}/steps",
    tags=["executions"],
    response_model=StepPageOut,
    responses=problem_responses(404),
)
def list_steps(
    execution_id: ExecutionId,
    rt: RuntimeDep,
    parent: Annotated[
        str | None,
        Query(
            pattern=r"^(root|[0-9]{1,10})$",
            description="Only the children of this step id, or `root` for steps without a parent.",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=service.explore.MAX_STEP_PAGE, description="Page size.")
    ] = 1000,
    cursor: Annotated[
        int | None, Query(ge=0, description="next_cursor of the previous page.")
    ] = None,
) -> StepPageOut:
    """Step summaries in call order, one page at a time: all of them, or the children of
    one step (to load a tree lazily)."""
    page = service.step_page(
        rt.store,
        execution_id,
        parent_id=None if parent in (None, "root") else int(parent),
        roots=parent == "root",
        cursor=cursor,
        limit=limit,
    )
    return step_page_out(page)


@api.get(
    "/executions/{execution_id}/steps/{step_id}",
    tags=["executions"],
    response_model=StepDetailOut,
    responses=problem_responses(404),
)
def get_step(
    execution_id: ExecutionId,
    step_id: Annotated[int, Path(ge=0, le=2**31 - 1, description="Step id.")],
    rt: RuntimeDep,
) -> StepDetailOut:
    """One step in full: inputs and output as JSON previews with their truncation and
    redaction marks, printed output, error with traceback, and its own time."""
    return step_detail_out(service.step_detail(rt.store, execution_id, step_id))


@api.get(
    "/executions/{execution_id}/tree",
    tags=["executions"],
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The text tree",
        },
        **problem_responses(404),
    },
)
def get_tree(execution_id: ExecutionId, rt: RuntimeDep) -> PlainTextResponse:
    """The execution's steps as the text tree (the format of docs/design.md)."""
    _execution(rt, execution_id)
    return PlainTextResponse(service.tree_text(rt.store, execution_id))


@api.get(
    "/executions/{execution_id}/export",
    tags=["executions"],
    responses={
        200: {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "The trace file, as an attachment",
        },
        **problem_responses(404),
    },
)
def export_execution(
    execution_id: ExecutionId,
    rt: RuntimeDep,
    trace_format: Annotated[
        TraceFormat,
        Query(
            alias="format",
            description="`chrome` (Trace Event Format: Perfetto, chrome://tracing), "
            "`speedscope` (evented profiles) or `json` (runtree's steps with their times).",
        ),
    ] = TraceFormat.CHROME,
) -> JSONResponse:
    """The execution as a trace file to download (see the README, "Export a run")."""
    record = _execution(rt, execution_id)
    document = export_trace(record, rt.store.get_steps(execution_id), trace_format)
    name = trace_filename(record, trace_format)
    return JSONResponse(document, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api.get(
    "/executions/{execution_id}/test",
    tags=["executions"],
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/x-python": {"schema": {"type": "string"}}},
            "description": "The pytest file, as an attachment",
        },
        **problem_responses(404),
    },
)
def step_test_file(
    execution_id: ExecutionId,
    rt: RuntimeDep,
    step: Annotated[
        str | None,
        Query(
            max_length=300,
            description="A step id, or the name of a function that ran (its first call); "
            "default: the root step.",
        ),
    ] = None,
    live: Annotated[
        bool, Query(description="Keep the real calls into other deployed functions.")
    ] = False,
    xfail: Annotated[
        bool,
        Query(
            description="Write the test even when a value was only recorded as a preview, "
            "marked xfail with the reason (otherwise: 422 untestable-step)."
        ),
    ] = False,
    source_dir: Annotated[
        str | None,
        Query(
            max_length=1000,
            description="A directory of NAME.py files, relative to the test file, that the "
            "test loads instead of the recorded sources.",
        ),
    ] = None,
) -> PlainTextResponse:
    """A pytest file that replays one recorded call (see the README, "A recorded step
    becomes a test"). The server reads recorded pickles only as plain-data literals, never
    unpickling them; any other value is embedded for the test to decode."""
    from ..service.testgen import generate_test

    generated = generate_test(
        rt.store, execution_id, step, live=live, xfail=xfail, source_dir=source_dir
    )
    headers = {
        "Content-Disposition": f'attachment; filename="{generated.filename}"',
        "Runtree-Step-Id": str(generated.step_id),
        "Runtree-Stubbed-Calls": str(generated.stubbed_calls),
    }
    if generated.xfail_reason is not None:  # recorded text: kept printable ASCII
        reason = generated.xfail_reason.encode("ascii", "backslashreplace").decode("ascii")
        headers["Runtree-Xfail-Reason"] = "".join(c if c.isprintable() else " " for c in reason)[
            :1000
        ]
    return PlainTextResponse(generated.text, media_type="text/x-python", headers=headers)


@api.post(
    "/executions/{execution_id}/cancel",
    tags=["executions"],
    response_model=ExecutionOut,
    responses={
        200: {"description": "The execution has finished (cancelled now, or earlier)"},
        202: {
            "model": ExecutionOut,
            "description": "Running: its worker was asked to stop; poll for the end",
        },
        **problem_responses(404),
    },
)
def cancel_execution(
    execution_id: ExecutionId,
    response: Response,
    rt: RuntimeDep,
    hub: HubDep,
    caller: Caller,
) -> ExecutionOut:
    """Cancel a queued execution at once (200, ``cancelled``) or ask a running one to stop
    (202, ``cancel_requested``). A finished execution is returned unchanged (200)."""
    asked = datetime.datetime.now(datetime.UTC)
    record = service.cancel(rt.store, caller, execution_id, rt.dispatcher)
    if record.finished:
        hub.publish(record)  # wake requests waiting for a run that will never start
        if record.started_at is None and record.finished_at and record.finished_at >= asked:
            rt.ended_without_running(record)  # this request cancelled it while queued
    else:
        response.status_code = 202
        response.headers["Location"] = execution_location(record.id)
    return execution_out(record)


def _execution(rt: Server, execution_id: str) -> ExecutionRecord:
    record = rt.store.get_execution(execution_id)
    if record is None:
        raise NotFoundError("execution", execution_id)
    return record


# --- health -------------------------------------------------------------------------------


@health.get(
    "/healthz",
    tags=["health"],
    response_model=Health,
    responses={503: {"model": Health, "description": "The database cannot be reached"}},
)
def healthz(rt: RuntimeDep) -> Health | JSONResponse:
    """``ok`` when the server runs and its database answers; 503 otherwise."""
    try:
        revision = rt.store.schema_revision()
    except Exception:
        log.warning("health check: the database cannot be reached", exc_info=True)
        return JSONResponse(
            Health(status="unavailable", database=False).model_dump(mode="json"),
            status_code=503,
        )
    return Health(status="ok", database=True, schema_revision=revision, sandbox=_sandbox_out(rt))


def _sandbox_out(rt: Server) -> SandboxOut | None:
    report = rt.sandbox
    if report is None:
        return None
    return from_record(SandboxOut, report)
