"""``POST /api/v1/functions/{namespace}/{name}/executions``: start an execution and, unless
told not to, wait for its end.

The endpoint is ``async`` so a request waiting for an execution holds no thread: it is woken
by the :class:`~runtree.api.waiting.CompletionHub` (or notices the end by polling the store).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import service
from ..models import ExecutionRecord, Trigger
from ..service.server import Server
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, HubDep, Name, Namespace, RuntimeDep, execution_location
from .schemas import ExecutionAccepted, ExecutionOut, RunRequest, execution_out
from .waiting import wait_finished

# A waiting request gives an execution its own time limit plus this margin (the supervisor
# needs a moment to stop a worker and drain what it sent) before answering 202.
WAIT_MARGIN_S = 10.0
# Waiting starts without looking up the version's time limit; only a run still going after
# this long pays for that lookup.
FAST_WAIT_S = 1.0

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))


@router.post(
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
