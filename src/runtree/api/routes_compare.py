"""Endpoints that compare: two executions by their trees (access is checked by
:func:`runtree.api.auth.access` for the first execution and here for the second)."""

from __future__ import annotations

import gzip
import json
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from ..service import visible_execution
from ..service.compare import compare_executions, comparison_document
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, EXECUTION_ID_PATTERN, ExecutionId, RuntimeDep
from .schemas.comparisons import ComparisonOut

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))


@router.get(
    "/executions/{execution_id}/compare/{other_id}",
    tags=["executions"],
    response_model=ComparisonOut,
    responses=problem_responses(404),
)
def compare_execution(
    execution_id: ExecutionId,
    other_id: Annotated[
        str, Path(pattern=EXECUTION_ID_PATTERN, description="The execution to compare with.")
    ],
    rt: RuntimeDep,
    caller: Caller,
    request: Request,
) -> Response:
    """The two executions' trees aligned by call path (siblings by sequence alignment),
    what differs in each aligned pair, steps only in one run, and the first divergence:
    where one run failed and the other did not, else the first differing inputs. Both
    executions must be readable by the caller (another namespace's is 404)."""
    visible_execution(rt.store, caller, other_id)
    document = comparison_document(compare_executions(rt.store, execution_id, other_id))
    body = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
    headers = {"Vary": "Accept-Encoding"}
    # Comparisons of large trees run to megabytes of repetitive JSON (see get_outline).
    if len(body) > 4096 and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=1, mtime=0)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)
