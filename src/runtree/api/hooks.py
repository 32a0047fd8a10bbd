"""``POST /hooks/{path}``: webhook deliveries from the outside world (no API key: a webhook
is authenticated by its signature, see :mod:`runtree.service.webhooks`).

Answers: ``202`` with the execution id (async mode, a duplicate in async mode, or sync mode
past its wait); in sync mode ``200`` with the function's output as JSON, or a problem
(``execution-failed``, status 500) naming the execution when it did not succeed -- never
the error's message or traceback, which the caller (another company's server) has no
business reading; ``401`` for a bad or missing signature (recorded as a rejected delivery);
``404`` unknown path; ``405`` a method other than POST; ``413`` a body over the limit;
``422`` a body that does not fit the function (recorded as rejected).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import DeliveryInputError, DeliveryRejected
from ..models import ExecutionStatus
from ..service import webhooks as webhook_service
from .problems import problem_response, problem_responses
from .routes import execution_location
from .schemas import HookAccepted
from .waiting import wait_finished

hooks = APIRouter()

HookPath = Annotated[str, Path(max_length=200, description="The webhook's path.")]
EXECUTION_HEADER = "Runtree-Execution-Id"


def _headers(request: Request) -> list[tuple[str, str]]:
    return [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
    ]


@hooks.post(
    "/hooks/{path}",
    tags=["webhooks"],
    response_model=Any,
    responses={
        200: {
            "description": "sync mode: the function's output (JSON)",
            "content": {"application/json": {"schema": {}}},
        },
        202: {
            "model": HookAccepted,
            "description": "Accepted: queued or still running (see Location)",
        },
        **problem_responses(401, 404, 405, 413, 422, 500),
    },
)
async def receive_webhook(path: HookPath, request: Request) -> Response:
    """Start the webhook's function with this delivery (see the module docstring)."""
    runtime = request.app.state.runtime
    body = await request.body()
    try:
        delivery = await run_in_threadpool(
            webhook_service.receive,
            runtime.store,
            path,
            method=request.method,
            query_string=request.url.query,
            headers=_headers(request),
            body=body,
            dispatcher=runtime.dispatcher,
        )
    except DeliveryRejected:
        runtime.metrics.delivery("rejected")
        raise
    except DeliveryInputError:
        runtime.metrics.delivery("invalid")
        raise
    runtime.metrics.delivery("duplicate" if delivery.duplicate else "accepted")
    record = delivery.execution
    request.state.execution_id = record.id  # for the access log
    if delivery.webhook.mode == "sync":
        record = await wait_finished(
            runtime.store, request.app.state.hub, record, delivery.webhook.sync_timeout_s
        )
        if record.finished:
            headers = {EXECUTION_HEADER: record.id}
            if record.status == ExecutionStatus.SUCCEEDED:
                return JSONResponse(record.output, status_code=200, headers=headers)
            error_type = (
                (record.error or {}).get("type") if isinstance(record.error, dict) else None
            )
            what = f" ({error_type})" if isinstance(error_type, str) else ""
            return problem_response(
                500,
                "execution-failed",
                f"the function ended {record.status}{what}; see execution {record.id}",
                headers=headers,
                execution_id=record.id,
                execution_status=str(record.status),
            )
    accepted = HookAccepted(
        execution_id=record.id, status=str(record.status), duplicate=delivery.duplicate
    )
    return JSONResponse(
        accepted.model_dump(mode="json"),
        status_code=202,
        headers={"Location": execution_location(record.id), EXECUTION_HEADER: record.id},
    )


@hooks.api_route(
    "/hooks/{path}",
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
def other_methods(path: HookPath, request: Request) -> Response:
    """404 for an unknown path, else 405: webhooks take POST only."""
    runtime = request.app.state.runtime
    webhook_service.receive(
        runtime.store, path, method=request.method, query_string="", headers=[], body=b""
    )
    raise AssertionError("unreachable: only POST is accepted")  # pragma: no cover
