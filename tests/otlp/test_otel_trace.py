"""The pure conversion of an execution to OpenTelemetry spans (runtree.service.otel_trace):
ids, times, parent links, statuses, attributes, exception events, aggregates, previews."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import StatusCode

from runtree.models import ExecutionStatus, StepStatus
from runtree.service.otel_trace import (
    CUT_MARK,
    PREVIEW_CHARS,
    STACKTRACE_CHARS,
    default_resource,
    execution_spans,
    span_id_of,
    trace_id_of,
)

from .records import EXECUTION_ID, T0, execution, step

RESOURCE = Resource({"service.name": "runtree"})
MS = 1_000_000


def test_trace_id_is_the_execution_id_and_span_ids_are_stable() -> None:
    record = execution()
    steps = [step(1, None, 1 * MS, 40 * MS), step(2, 1, 2 * MS, 5 * MS)]
    first = execution_spans(record, steps, RESOURCE)
    again = execution_spans(record, steps, RESOURCE)
    assert {format(span.context.trace_id, "032x") for span in first} == {EXECUTION_ID}
    assert [s.context.span_id for s in first] == [s.context.span_id for s in again]
    assert len({s.context.span_id for s in first}) == 3
    assert first[0].context.span_id == span_id_of(EXECUTION_ID, None)
    assert first[2].context.span_id == span_id_of(EXECUTION_ID, 2)
    # Another execution's step 2 is another span.
    assert span_id_of("f" * 32, 2) != span_id_of(EXECUTION_ID, 2)
    # An id that is no 128-bit hex number still gets a valid, stable trace id.
    assert trace_id_of("not-hex") == trace_id_of("not-hex") != 0
    assert trace_id_of("0" * 32) != 0


def test_parents_times_and_code_attributes() -> None:
    record = execution()
    steps = [
        step(1, None, 1 * MS, 40 * MS, inputs={"customer_id": {"preview": 42}}),
        step(2, 1, 2 * MS, 5 * MS, output={"preview": {"total": 9.5}}),
        step(3, 99, 3 * MS, 1 * MS),  # its parent was not recorded: under the execution
    ]
    root, first, second, orphan = execution_spans(record, steps, RESOURCE)
    assert root.parent is None and root.name == "shop/orders"
    assert first.parent == root.context
    assert second.parent == first.context
    assert orphan.parent == root.context
    assert (first.start_time, first.end_time) == (T0 + 1 * MS, T0 + 41 * MS)
    assert (second.start_time, second.end_time) == (T0 + 2 * MS, T0 + 7 * MS)
    # The execution's span runs from its start (microseconds, exactly) to its end.
    assert root.start_time == T0 // 1000 * 1000
    assert root.end_time == root.start_time + 50 * MS
    assert root.status.status_code is StatusCode.OK
    assert first.status.status_code is StatusCode.UNSET
    assert dict(second.attributes or {}) == {
        "code.function.name": "s2",
        "code.function": "s2",
        "code.file.path": "shop/orders.py",
        "code.filepath": "shop/orders.py",
        "code.line.number": 12,
        "code.lineno": 12,
        "runtree.execution.id": EXECUTION_ID,
        "runtree.function": "shop/orders",
        "runtree.namespace": "shop",
        "runtree.step.id": 2,
        "runtree.status": "completed",
        "runtree.version": 3,
        "runtree.output": '{"total":9.5}',
    }
    assert (first.attributes or {})["runtree.input.customer_id"] == "42"
    assert (root.attributes or {})["runtree.input.customer_id"] == "42"
    assert first.resource is RESOURCE and first.instrumentation_scope.name == "runtree"


def test_the_execution_span_covers_steps_the_clocks_put_outside_it() -> None:
    record = execution(duration_ms=10)
    early_and_long = step(1, None, -2 * MS, 30 * MS)
    root, span = execution_spans(record, [early_and_long], RESOURCE)
    assert root.start_time == span.start_time == T0 - 2 * MS
    assert root.end_time == span.end_time == T0 + 28 * MS


def test_failures_become_error_statuses_and_exception_events() -> None:
    error = {
        "type": "KeyError",
        "message": "'no customer with id 3'",
        "traceback": [
            {"filename": "shop/orders.py", "lineno": 4, "name": "orders", "line": "get(3)"},
            {"filename": "shop/get.py", "lineno": 9, "name": "get", "line": "raise KeyError(n)"},
        ],
        "step_id": 2,
    }
    record = execution(status=ExecutionStatus.FAILED, error=error)
    steps = [
        step(1, None, 0, 10 * MS, status=StepStatus.FAILED, error=error),
        step(2, 1, 1 * MS, 2 * MS, status=StepStatus.FAILED, error=error),
    ]
    root, outer, inner = execution_spans(record, steps, RESOURCE)
    for span in (root, outer, inner):
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "KeyError: 'no customer with id 3'"
        (event,) = span.events
        assert event.name == "exception" and event.timestamp == span.end_time
        assert dict(event.attributes or {}) == {
            "exception.type": "KeyError",
            "exception.message": "'no customer with id 3'",
            "exception.stacktrace": "Traceback (most recent call last):\n"
            '  File "shop/orders.py", line 4, in orders\n'
            "    get(3)\n"
            '  File "shop/get.py", line 9, in get\n'
            "    raise KeyError(n)\n"
            "KeyError: 'no customer with id 3'",
        }


def test_steps_cut_off_by_the_end_of_the_run() -> None:
    record = execution(status=ExecutionStatus.CRASHED, error=None, duration_ms=20)
    steps = [
        step(1, None, 1 * MS, None, status=StepStatus.RUNNING),
        step(2, 1, 2 * MS, 3 * MS, status=StepStatus.INTERRUPTED),
    ]
    root, running, interrupted = execution_spans(record, steps, RESOURCE)
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description == "crashed"
    assert not root.events
    # Never ended: it ends when the execution did.
    assert running.end_time == root.end_time == T0 // 1000 * 1000 + 20 * MS
    assert running.status.description == "running: the execution ended crashed"
    assert interrupted.end_time == T0 + 5 * MS
    assert interrupted.status.description == "interrupted: the execution ended crashed"


def test_an_execution_without_steps_is_one_span() -> None:
    record = execution(
        status=ExecutionStatus.FAILED,
        error={"type": "LookupError", "message": "shop/orders v3 is gone", "traceback": []},
    )
    (root,) = execution_spans(record, [], RESOURCE)
    assert root.status.description == "LookupError: shop/orders v3 is gone"
    (event,) = root.events
    assert (event.attributes or {})["exception.stacktrace"].endswith(
        "\nLookupError: shop/orders v3 is gone"
    )


def test_redacted_values_stay_redacted_and_long_previews_are_cut() -> None:
    record = execution(input={"password": "[redacted]", "note": "x" * 5000})
    steps = [
        step(
            1,
            None,
            0,
            MS,
            inputs={
                "password": {"preview": "[redacted]", "redacted": True},
                "note": {"preview": "x" * 5000, "truncated": False},
            },
        )
    ]
    root, span = execution_spans(record, steps, RESOURCE)
    for attributes in (root.attributes or {}, span.attributes or {}):
        assert attributes["runtree.input.password"] == "[redacted]"
        note = attributes["runtree.input.note"]
        assert len(note) == PREVIEW_CHARS and note.endswith(CUT_MARK)
        assert note.startswith('"xxx')


def test_aggregates_are_attributes_of_their_step() -> None:
    rows = [
        {"name": "fib", "count": 1000, "total_ns": 5 * MS, "errors": 0,
         "children": [{"name": "leaf", "count": 24, "total_ns": MS, "errors": 1}]},
        {"name": "other", "count": 3, "total_ns": MS, "errors": 0},
    ]  # fmt: skip
    (_, span) = execution_spans(execution(), [step(1, None, 0, 9 * MS, aggregates=rows)], RESOURCE)
    attributes = span.attributes or {}
    assert attributes["runtree.aggregated_calls"] == 1027
    assert attributes["runtree.aggregates"].startswith('[{"name":"fib","count":1000')


def test_the_resource_names_runtree_unless_the_environment_names_a_service(
    monkeypatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert default_resource().attributes["service.name"] == "runtree"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-runs")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")
    resource = default_resource()
    assert resource.attributes["service.name"] == "billing-runs"
    assert resource.attributes["deployment.environment"] == "prod"


def test_a_deep_traceback_keeps_its_innermost_frames_within_the_limit() -> None:
    frames = [
        {"filename": "shop/deep.py", "lineno": 3, "name": "down", "line": "return down(n - 1)"}
    ] * 5000
    frames.append({"filename": "shop/deep.py", "lineno": 2, "name": "down", "line": "raise X"})
    error = {"type": "ValueError", "message": "bottom", "traceback": frames}
    record = execution(status=ExecutionStatus.FAILED, error=error)
    root, span = execution_spans(
        record, [step(1, None, 0, MS, status=StepStatus.FAILED, error=error)], RESOURCE
    )
    text = (span.events[0].attributes or {})["exception.stacktrace"]
    assert len(text) <= STACKTRACE_CHARS + 100
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].startswith(f"  {CUT_MARK} ") and lines[1].endswith(" outer frames cut")
    cut = int(lines[1].split()[1])
    assert (len(lines) - 3) // 2 + cut == 5001  # every frame is either shown or counted
    assert lines[-3:] == [
        '  File "shop/deep.py", line 2, in down',
        "    raise X",
        "ValueError: bottom",
    ]


def test_whatever_a_worker_sent_encodes() -> None:
    """A worker is untrusted: lone surrogates, negative or huge times and numbers must not
    make the OTLP request that carries them (with other executions' spans) fail."""
    odd = "bad \udc80 byte"
    error = {"type": odd, "message": odd, "traceback": [{"filename": odd, "lineno": -1}]}
    steps = [
        step(
            1,
            None,
            -T0 - 5,  # before the epoch
            2**63 - 1,
            name=odd,
            filename=odd,
            lineno=2**70,
            status=StepStatus.FAILED,
            error=error,
            inputs={odd: {"preview": odd}},
            warnings=[odd],
        )
    ]
    spans = execution_spans(execution(status=ExecutionStatus.FAILED, error=error), steps, RESOURCE)
    request = encode_spans(spans)
    (span,) = [s for s in request.resource_spans[0].scope_spans[0].spans if s.parent_span_id]
    assert span.name == "bad ? byte"
    assert span.start_time_unix_nano == 0
    assert "bad ? byte" in span.events[0].attributes[2].value.string_value
    assert request.SerializeToString()
