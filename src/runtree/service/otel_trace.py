"""One finished execution as one OpenTelemetry trace: its spans, ready for an OTLP exporter.
Pure (no I/O).

**Ids.** The trace id *is* the execution id (both are 128 bits; the id's 32 hex digits are
the trace id's), so a trace found in a tracing UI names its runtree execution and
``/executions/{trace id}`` opens it. Span ids are derived from the execution id and the
step id (BLAKE2b), so exporting an execution twice sends identical spans.

**Shape.** A root span for the execution itself (name ``namespace/name``; from the start of
the run to its end, widened to cover every step) and one span per recorded step under it,
parented as the steps are, with the step's real start and end. A step that never ended
(the run crashed, timed out or was cancelled around it) ends when the execution ended.

**Attributes.** OpenTelemetry's semantic conventions where they have a name: the code
location as ``code.function.name``, ``code.file.path``, ``code.line.number`` and also under
their older names (``code.function``, ``code.filepath``, ``code.lineno``) that many backends
still read; an ``exception`` event (``exception.type``, ``exception.message``,
``exception.stacktrace`` in Python's traceback layout) on every failed step and on a failed
execution; the span status (``ERROR`` with ``Type: message`` for failures, ``OK`` for a
succeeded execution, unset for a completed step). The rest under ``runtree.*``
(:data:`ATTRIBUTES` lists them): execution id, function, version, namespace, trigger,
status, step id, the input and output previews as stored (redacted values stay
``[redacted]``: redaction happens before anything is stored), each cut to
:data:`PREVIEW_CHARS` characters.

**Aggregates** (calls past the step budget, folded into counts: they have no start times)
are attributes of the step they were counted under, never spans with made-up times:
``runtree.aggregated_calls`` (how many calls, nested rows included) and
``runtree.aggregates`` (the rows as JSON, cut like a preview).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv._incubating.attributes.code_attributes import (
    CODE_FILEPATH,
    CODE_FUNCTION,
    CODE_LINENO,
)
from opentelemetry.semconv.attributes.code_attributes import (
    CODE_FILE_PATH,
    CODE_FUNCTION_NAME,
    CODE_LINE_NUMBER,
)
from opentelemetry.semconv.attributes.exception_attributes import (
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    EXCEPTION_TYPE,
)
from opentelemetry.semconv.attributes.service_attributes import SERVICE_NAME
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from .. import __version__
from ..models import ExecutionRecord, ExecutionStatus, StepRecord, StepStatus
from ..tracking.capture import REDACTED

# The longest preview (input, output, aggregates) sent as an attribute, in characters.
PREVIEW_CHARS = 1024
# The longest exception.stacktrace: its end is kept (the innermost frames and the exception);
# every step a deep recursion's exception passed through carries one.
STACKTRACE_CHARS = 16 * 1024
CUT_MARK = "…"
SCOPE = InstrumentationScope("runtree", __version__)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MAX_NS = 2**64 - 1  # OTLP times are unsigned 64-bit
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)

ATTRIBUTES = {
    "runtree.execution.id": "the execution (both spans' kinds; equals the trace id in hex)",
    "runtree.function": "namespace/name of the function the span's code belongs to",
    "runtree.namespace": "the execution's namespace",
    "runtree.version": "that function's version number",
    "runtree.trigger": "what started the execution (execution span)",
    "runtree.status": "the execution's or the step's final status",
    "runtree.replay_of": "the execution this one replays (execution span, when set)",
    "runtree.step.id": "the step's id (``/executions/{id}?step={step id}``)",
    "runtree.input.<parameter>": "each input's preview, JSON, cut to PREVIEW_CHARS",
    "runtree.output": "the output's preview, likewise",
    "runtree.aggregated_calls": "calls counted under the step instead of recorded",
    "runtree.aggregates": "those calls' rows as JSON, cut to PREVIEW_CHARS",
    "runtree.warnings": "the step's tracking warnings",
}


def default_resource() -> Resource:
    """The resource every span names: the OpenTelemetry SDK's defaults and environment
    (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``), with ``service.name`` ``runtree``
    unless the environment names one."""
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "runtree"}))
    return resource


def trace_id_of(execution_id: str) -> int:
    """The trace id of an execution: its id read as a 128-bit number (a hash of it for an id
    that is no valid trace id, which the store never makes)."""
    try:
        value = int(execution_id, 16) if len(execution_id) == 32 else 0
    except ValueError:
        value = 0
    if value:
        return value
    return int.from_bytes(hashlib.blake2b(execution_id.encode(), digest_size=16).digest()) or 1


def span_id_of(execution_id: str, step_id: int | None) -> int:
    """A span's id: the execution's own span (``step_id`` None) or one step's."""
    key = f"{execution_id}/{'execution' if step_id is None else step_id}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest()) or 1


def execution_spans(
    execution: ExecutionRecord, steps: Sequence[StepRecord], resource: Resource
) -> list[ReadableSpan]:
    """The trace of a finished ``execution`` (module docstring): its own span first, then a
    span per step, in ``steps``' order. Steps whose parent is not among ``steps`` hang under
    the execution's span."""
    trace_id = trace_id_of(execution.id)
    root = _context(trace_id, span_id_of(execution.id, None))
    started = _ns(execution.started_at or execution.queued_at)
    finished = _ns(execution.finished_at) if execution.finished_at is not None else started
    ends = [step.started_at_ns + step.duration_ns for step in steps if step.duration_ns]
    start = min([started, *(step.started_at_ns for step in steps)])
    end = max([finished, *ends])
    contexts = {step.id: _context(trace_id, span_id_of(execution.id, step.id)) for step in steps}
    spans = [_execution_span(execution, root, resource, start, end)]
    for step in steps:
        parent = contexts.get(step.parent_id, root) if step.parent_id is not None else root
        spans.append(_step_span(execution, step, contexts[step.id], parent, resource, finished))
    return spans


def _execution_span(
    execution: ExecutionRecord, context: SpanContext, resource: Resource, start: int, end: int
) -> ReadableSpan:
    attributes: dict[str, AttributeValue] = {
        "runtree.execution.id": execution.id,
        "runtree.function": execution.qualified_name,
        "runtree.namespace": execution.namespace,
        "runtree.version": execution.version,
        "runtree.trigger": str(execution.trigger),
        "runtree.status": str(execution.status),
    }
    if execution.replay_of:
        attributes["runtree.replay_of"] = execution.replay_of
    if isinstance(execution.input, dict):
        for name, value in execution.input.items():
            attributes[f"runtree.input.{name}"] = _value_text(value)
    if execution.output is not None:
        attributes["runtree.output"] = _value_text(execution.output)
    error = execution.error if isinstance(execution.error, dict) else None
    events = [_exception_event(error, end)] if error else []
    if execution.status is ExecutionStatus.SUCCEEDED:
        status = Status(StatusCode.OK)
    else:
        status = Status(StatusCode.ERROR, _describe(error) or str(execution.status))
    return _span(
        execution.qualified_name, context, None, resource, attributes, events, status, start, end
    )


def _step_span(
    execution: ExecutionRecord,
    step: StepRecord,
    context: SpanContext,
    parent: SpanContext,
    resource: Resource,
    finished: int,
) -> ReadableSpan:
    start = step.started_at_ns
    end = start + step.duration_ns if step.duration_ns is not None else max(finished, start)
    attributes: dict[str, AttributeValue] = {
        CODE_FUNCTION_NAME: step.name,
        CODE_FUNCTION: step.name,
        "runtree.execution.id": execution.id,
        "runtree.function": step.function or execution.qualified_name,
        "runtree.namespace": execution.namespace,
        "runtree.step.id": step.id,
        "runtree.status": str(step.status),
    }
    if step.filename is not None:
        attributes[CODE_FILE_PATH] = attributes[CODE_FILEPATH] = step.filename
    if step.lineno is not None:
        attributes[CODE_LINE_NUMBER] = attributes[CODE_LINENO] = step.lineno
    if step.version is not None:
        attributes["runtree.version"] = step.version
    for name, captured in step.inputs.items():
        attributes[f"runtree.input.{name}"] = _captured_text(captured)
    if step.output is not None:
        attributes["runtree.output"] = _captured_text(step.output)
    if step.aggregates:
        attributes["runtree.aggregated_calls"] = _call_count(step.aggregates)
        attributes["runtree.aggregates"] = _cut(_json(step.aggregates))
    if step.warnings:
        attributes["runtree.warnings"] = [str(warning) for warning in step.warnings]
    events: list[Event] = []
    status = Status(StatusCode.UNSET)
    if step.status is StepStatus.FAILED:
        events.append(_exception_event(step.error or {}, end))
        status = Status(StatusCode.ERROR, _describe(step.error) or "failed")
    elif step.status is not StepStatus.COMPLETED:
        status = Status(StatusCode.ERROR, f"{step.status}: the execution ended {execution.status}")
    return _span(step.name, context, parent, resource, attributes, events, status, start, end)


def _span(
    name: str,
    context: SpanContext,
    parent: SpanContext | None,
    resource: Resource,
    attributes: dict[str, AttributeValue],
    events: list[Event],
    status: Status,
    start: int,
    end: int,
) -> ReadableSpan:
    """The span, its text made valid UTF-8 and its times valid OTLP times: whatever a worker
    sent (it is untrusted), one span never makes the request that carries it fail."""
    if events:
        events = [
            Event(event.name, _clean_attributes(event.attributes or {}), event.timestamp)
            for event in events
        ]
    if status.description is not None:
        status = Status(status.status_code, _clean(status.description))
    return ReadableSpan(
        name=_clean(name),
        context=context,
        parent=parent,
        resource=resource,
        attributes=_clean_attributes(attributes),
        events=events,
        kind=SpanKind.INTERNAL,
        status=status,
        start_time=min(max(start, 0), _MAX_NS),
        end_time=min(max(end, 0), _MAX_NS),
        instrumentation_scope=SCOPE,
    )


def _clean_attributes(attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    cleaned: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        if isinstance(value, str):
            value = _clean(value)
        elif isinstance(value, list | tuple):
            value = [_clean(item) if isinstance(item, str) else item for item in value]
        elif isinstance(value, int) and not isinstance(value, bool):
            value = min(max(value, -(2**63)), 2**63 - 1)  # OTLP integers are 64-bit
        cleaned[_clean(key)] = value
    return cleaned


def _clean(text: str) -> str:
    """``text`` as valid UTF-8: lone surrogates (``surrogateescape``d bytes) become ``?``."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED)


def _ns(moment: datetime.datetime) -> int:
    """Nanoseconds since the epoch, exactly (a float would round microseconds)."""
    return (moment - _EPOCH) // datetime.timedelta(microseconds=1) * 1000


def _exception_event(error: dict[str, Any], timestamp: int) -> Event:
    kind = str(error.get("type") or "Error")
    message = _cut(str(error.get("message") or ""), STACKTRACE_CHARS)
    return Event(
        "exception",
        {
            EXCEPTION_TYPE: kind,
            EXCEPTION_MESSAGE: message,
            EXCEPTION_STACKTRACE: _stacktrace(kind, message, error.get("traceback")),
        },
        timestamp=timestamp,
    )


def _stacktrace(kind: str, message: str, frames: Any) -> str:
    """The traceback in Python's own layout (what ``exception.stacktrace`` asks for), cut
    to about :data:`STACKTRACE_CHARS` from the outside in: only the frames that fit are
    formatted (a deep recursion's outer steps would otherwise each carry every frame)."""
    last = f"{kind}: {message}" if message else kind
    entries = (
        [frame for frame in frames if isinstance(frame, dict)] if isinstance(frames, list) else []
    )
    kept: list[str] = []
    size = len(last)
    for index in range(len(entries) - 1, -1, -1):
        frame = entries[index]
        text = (
            f'  File "{frame.get("filename")}", line {frame.get("lineno")}, in {frame.get("name")}'
        )
        if frame.get("line"):
            text += f"\n    {frame['line']}"
        if size + len(text) > STACKTRACE_CHARS:
            kept.append(f"  {CUT_MARK} {index + 1} outer frames cut")
            break
        kept.append(text)
        size += len(text) + 1
    return "\n".join(["Traceback (most recent call last):", *reversed(kept), last])


def _describe(error: dict[str, Any] | None) -> str | None:
    if not error:
        return None
    kind = error.get("type") or "Error"
    return f"{kind}: {error['message']}" if error.get("message") else str(kind)


def _captured_text(captured: dict[str, Any]) -> str:
    """A stored captured value (``preview``, ``redacted`` ...) as attribute text."""
    if captured.get("redacted"):
        return REDACTED
    return _value_text(captured.get("preview"))


def _value_text(value: Any) -> str:
    return REDACTED if value == REDACTED else _cut(_json(value))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _cut(text: str, limit: int = PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + CUT_MARK


def _call_count(rows: list[dict[str, Any]]) -> int:
    """Calls in aggregate rows, their nested rows included (iterative: rows nest deeply)."""
    total, pending = 0, list(rows)
    while pending:
        row = pending.pop()
        if isinstance(row, dict):
            count = row.get("count")
            total += count if isinstance(count, int) else 0
            children = row.get("children")
            if isinstance(children, list):
                pending.extend(children)
    return total
