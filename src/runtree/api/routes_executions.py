"""Endpoints of executions once started: list and search them, read one (in full, as an
outline, step by step, as the text tree), export it as a trace file or a step of it as a
pytest file, and cancel it (all under ``/api/v1``; access is checked by
:func:`runtree.api.auth.access`). Starting one is :mod:`.routes_run`."""

from __future__ import annotations

import datetime
import gzip
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from .. import service
from ..models import ExecutionRecord, ExecutionStatus, Trigger
from ..service.server import Server
from ..service.trace_files import TraceFormat, export_trace, trace_filename
from ..store import NotFoundError
from .auth import Caller
from .problems import problem_responses
from .routes import (
    API_PREFIX,
    EXECUTION_ID_PATTERN,
    FUNCTION_FILTER_PATTERN,
    ExecutionId,
    HubDep,
    RuntimeDep,
    execution_location,
)
from .schemas import (
    MAX_VERSION,
    ExecutionDetail,
    ExecutionOut,
    ExecutionOutline,
    ExecutionPage,
    StepDetailOut,
    StepPageOut,
    execution_out,
    outline_json,
    step_detail_out,
    step_page_out,
)
from .schemas.detail_json import execution_detail_json, step_json

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))


@router.get("/executions", tags=["executions"], response_model=ExecutionPage)
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


@router.get(
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


@router.get(
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


@router.get(
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


@router.get(
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


@router.get(
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


@router.get(
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


@router.get(
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


@router.post(
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
