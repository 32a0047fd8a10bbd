"""Value search: which executions, steps and functions handled a value (through the keyed
hashes of :mod:`runtree.store.value_index`; the value is never stored)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from .. import service
from ..store.value_index import MAX_VALUE_CHARS
from .auth import Caller
from .problems import problem_responses
from .routes import API_PREFIX, EXECUTION_ID_PATTERN, FUNCTION_FILTER_PATTERN, RuntimeDep
from .schemas.executions import execution_out
from .schemas.find import FindPage, FoundExecution, FoundStep

router = APIRouter(prefix=API_PREFIX, responses=problem_responses(422, 500))


@router.get("/find", tags=["executions"], response_model=FindPage)
def find_value(
    rt: RuntimeDep,
    caller: Caller,
    value: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_VALUE_CHARS + 64,
            description="The value: trimmed and case-folded like the indexed strings; text "
            'that reads as a number also finds that number (42 finds 42, 42.0 and "42").',
        ),
    ],
    key: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Only where the value was found under this name (a parameter, "
            "mapping key or field; exact).",
        ),
    ] = None,
    function: Annotated[
        str | None,
        Query(
            pattern=FUNCTION_FILTER_PATTERN,
            description="Only this function: namespace/name, or name in namespace default.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST_LIMIT, description="Page size.")] = 50,
    cursor: Annotated[
        str | None,
        Query(pattern=EXECUTION_ID_PATTERN, description="next_cursor of the previous page."),
    ] = None,
    include_shadow: Annotated[
        bool,
        Query(description="Also shadow runs (trigger shadow), which are left out by default."),
    ] = False,
) -> FindPage:
    """The executions that handled ``value`` in an input or output of any of their steps,
    at any depth, newest first, each with the steps that did (shadow runs only when asked
    for). Scalars are indexed as keyed hashes (HMAC-SHA256), never in clear text, redacted
    ones included; strings up to 256 characters."""
    namespace = name = None
    if function is not None:
        prefix, _, name = function.rpartition("/")
        namespace = prefix or "default"
    namespace = caller.scope(namespace)  # a namespaced key searches its own namespace only
    page, next_cursor = rt.store.find_value(
        value,
        key=key,
        namespace=namespace,
        name=name,
        limit=limit,
        cursor=cursor,
        include_shadow=include_shadow,
    )
    return FindPage(
        results=[
            FoundExecution(
                execution=execution_out(record),
                steps=[FoundStep.model_validate(step) for step in steps],
            )
            for record, steps in page
        ],
        next_cursor=next_cursor,
    )
