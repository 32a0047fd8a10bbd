"""OpenTelemetry export from a real server (zygote workers, sandbox as configured) to an
OTLP/HTTP receiver started by the test: the decoded protobuf requests hold each execution's
tree -- names, parent links, times, attributes, exception events, redaction -- and a
collector that hangs neither slows nor fails executions, while drops are counted."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from runtree.api import create_app
from runtree.models import StepStatus
from runtree.service import deploy as deploy_version
from runtree.service import start_execution
from runtree.settings import Settings
from runtree.store import Store

from ..api.conftest import authorize_as_admin
from ..api.helpers import API, deploy, deploy_examples, poll, run, store_of
from ..api.test_metrics import samples, value
from .collector import Collector, attributes, wait_until
from .records import step as step_record

pytestmark = pytest.mark.slow

LOGIN = """
def login(user: str, password: str) -> bool:
    return check(user, password)


def check(user, password):
    raise PermissionError(f"no access for {user}")
"""
SLOW = """
import time


def slow(seconds: float) -> None:
    nap(0.0)
    nap(seconds)


def nap(seconds):
    time.sleep(seconds)
"""
ECHO = "def echo(x: int) -> int:\n    return x\n"
CRASH = "import os\n\n\ndef crash():\n    os._exit(3)\n"
SECRET = "hunter2-must-not-leave"


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    with Collector() as receiver:
        yield receiver


def serve(
    directory: Path, database: Callable[[Path], str], collector: Collector, **settings: Any
) -> Iterator[TestClient]:
    config = Settings(
        database_url=database(directory / "otlp.db"),
        workers=2,
        shutdown_grace_s=1.0,
        scheduler=False,
        otlp_endpoint=collector.url,
        **settings,
    )
    with TestClient(create_app(config)) as client:
        authorize_as_admin(client, config)
        yield client


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_database: Callable[[Path], str],
    collector: Collector,
) -> Iterator[TestClient]:
    yield from serve(
        tmp_path_factory.mktemp("otlp"),
        migrated_database,
        collector,
        otlp_headers={"Authorization": "Bearer collector-key"},
        otlp_timeout_s=5.0,
    )


def ended(execution: dict[str, Any]) -> bool:
    return execution["finished_at"] is not None


def by_step(spans: list[Span]) -> tuple[Span, dict[int, Span]]:
    """The execution's span and the step spans by step id."""
    roots = [span for span in spans if not span.parent_span_id]
    assert len(roots) == 1
    steps = {attributes(span.attributes)["runtree.step.id"]: span for span in spans[1:]}
    assert len(steps) == len(spans) - 1
    return roots[0], steps


def test_each_execution_is_one_trace_with_its_tree(
    server: TestClient, collector: Collector
) -> None:
    deploy_examples(server, "shop")
    # The API's wait ends at the version's timeout plus a margin: on a loaded machine a run can
    # still be going then, so poll to the end.
    ok, bad = (
        poll(server, run(server, "shop", "calculate_order_total", input=given).json()["id"], ended)
        for given in ({"customer_id": 42}, {"customer_id": 3})
    )
    assert (ok["status"], bad["status"]) == ("succeeded", "failed")
    store = store_of(server)
    for body in (ok, bad):
        execution = store.get_execution(body["id"])
        steps = store.get_steps(body["id"])
        assert execution is not None and steps
        spans = collector.trace(body["id"], 1 + len(steps))
        assert len(spans) == 1 + len(steps)
        root, step_spans = by_step(spans)
        # The trace id is the execution id.
        assert root.trace_id.hex() == body["id"]
        assert root.name == "shop/calculate_order_total"
        expected = {
            "runtree.execution.id": body["id"],
            "runtree.function": "shop/calculate_order_total",
            "runtree.namespace": "shop",
            "runtree.version": 1,
            "runtree.trigger": "api",
            "runtree.status": body["status"],
            "runtree.input.customer_id": str(body["input"]["customer_id"]),
        }
        if execution.output is not None:
            expected["runtree.output"] = json.dumps(execution.output, separators=(",", ":"))
        assert attributes(root.attributes) == expected
        assert sorted(step_spans) == sorted(step.id for step in steps)
        span_ids = {step.id: step_spans[step.id].span_id for step in steps}
        for step in steps:
            span = step_spans[step.id]
            found = attributes(span.attributes)
            parent = span_ids.get(step.parent_id, root.span_id)
            assert span.parent_span_id == parent
            assert span.name == step.name
            assert span.start_time_unix_nano == step.started_at_ns
            assert step.duration_ns is not None
            assert span.end_time_unix_nano == step.started_at_ns + step.duration_ns
            assert root.start_time_unix_nano <= span.start_time_unix_nano
            assert span.end_time_unix_nano <= root.end_time_unix_nano
            assert found["code.function.name"] == found["code.function"] == step.name
            assert found["code.file.path"] == found["code.filepath"] == step.filename
            assert found["code.line.number"] == found["code.lineno"] == step.lineno
            assert found["runtree.function"] == step.function
            assert found["runtree.version"] == step.version == 1
            assert found["runtree.execution.id"] == body["id"]
            for name, captured in step.inputs.items():
                assert found[f"runtree.input.{name}"] is not None, captured
        names = {step.name: step_spans[step.id] for step in steps}
        assert set(names) >= {"calculate_order_total", "get_customer"}
        entry = attributes(names["calculate_order_total"].attributes)
        assert entry["runtree.input.customer_id"] == str(body["input"]["customer_id"])
        if body is ok:
            assert root.status.code == Status.STATUS_CODE_OK
            assert entry["runtree.output"].startswith('{"customer":"Ada"')
            assert all(not span.events for span in spans)
            assert all(span.status.code == Status.STATUS_CODE_UNSET for span in step_spans.values())
            continue
        # The failing run: status and exception events on the failing path and the root.
        message = "KeyError: 'no customer with id 3'"
        assert root.status.code == Status.STATUS_CODE_ERROR
        assert root.status.message == message
        failing = names["get_customer"]
        assert failing.status.code == Status.STATUS_CODE_ERROR
        assert failing.status.message == message
        (event,) = failing.events
        assert event.name == "exception"
        assert event.time_unix_nano == failing.end_time_unix_nano
        found = attributes(event.attributes)
        assert found["exception.type"] == "KeyError"
        assert found["exception.message"] == "'no customer with id 3'"
        trace = found["exception.stacktrace"].splitlines()
        assert trace[0] == "Traceback (most recent call last):"
        assert trace[-1] == message
        assert any(line.strip().startswith("raise KeyError(") for line in trace)
        assert any('get_customer.py", line 10, in get_customer' in line for line in trace)
        assert [e.name for e in root.events] == ["exception"]
    # What every request carried: the configured header, the resource, the scope.
    assert collector.headers
    assert all(h.get("authorization") == "Bearer collector-key" for h in collector.headers)
    resource, _ = collector.spans()[0]
    assert resource["service.name"] == "runtree"
    assert collector.requests[0].resource_spans[0].scope_spans[0].scope.name == "runtree"
    found = samples(server)
    assert value(found, "runtree_otlp_traces_exported_total") >= 2
    assert value(found, "runtree_otlp_traces_dropped_total", reason="export_failed") == 0
    assert value(found, "runtree_otlp_backlog") == 0


def test_redacted_inputs_stay_redacted(server: TestClient, collector: Collector) -> None:
    deploy(server, "auth", "login", LOGIN)
    body = run(server, "auth", "login", input={"user": "ada", "password": SECRET}).json()
    assert body["status"] == "failed"
    spans = collector.trace(body["id"], 3)
    root, steps = by_step(spans)
    assert attributes(root.attributes)["runtree.input.password"] == "[redacted]"
    assert attributes(root.attributes)["runtree.input.user"] == '"ada"'
    for span in steps.values():
        assert attributes(span.attributes)["runtree.input.password"] == "[redacted]"
    assert not any(SECRET.encode() in raw for raw in collector.raw)


def test_a_timed_out_execution_is_exported_with_its_partial_tree(
    server: TestClient, collector: Collector
) -> None:
    deploy(server, "naps", "slow", SLOW, timeout_s=6)  # time to start, even at load 15
    body = run(server, "naps", "slow", input={"seconds": 60}).json()
    assert body["status"] == "timed_out"
    steps = store_of(server).get_steps(body["id"])
    spans = collector.trace(body["id"], 1 + len(steps))
    root, by_id = by_step(spans)
    assert root.status.code == Status.STATUS_CODE_ERROR
    assert attributes(root.attributes)["runtree.status"] == "timed_out"
    # The tree as far as it got: the first nap completed, the second and its caller were
    # interrupted by the time limit, with the times they had run.
    assert [(step.name, step.status) for step in steps] == [
        ("slow", "interrupted"),
        ("nap", "completed"),
        ("nap", "interrupted"),
    ]
    for step in steps:
        span = by_id[step.id]
        assert step.duration_ns is not None
        assert span.end_time_unix_nano == step.started_at_ns + step.duration_ns
        if step.status == "completed":
            assert span.status.code == Status.STATUS_CODE_UNSET
        else:
            assert span.status.code == Status.STATUS_CODE_ERROR
            assert span.status.message == "interrupted: the execution ended timed_out"


def test_cancelled_and_crashed_executions_are_exported(
    server: TestClient, collector: Collector
) -> None:
    deploy(server, "ends", "slow", SLOW)
    deploy(server, "ends", "crash", CRASH)
    started = run(server, "ends", "slow", input={"seconds": 60}, wait=False).json()
    wait_until(
        lambda: len(store_of(server).get_steps(started["id"])) >= 2,
        20,
        lambda: "the run did not reach its second nap",
    )
    assert server.post(f"{API}/executions/{started['id']}/cancel").status_code in (200, 202)
    cancelled = poll(server, started["id"], lambda e: e["finished_at"] is not None)
    crashed = run(server, "ends", "crash").json()
    assert (cancelled["status"], crashed["status"]) == ("cancelled", "crashed")
    for body in (cancelled, crashed):
        steps = store_of(server).get_steps(body["id"])
        root, by_id = by_step(collector.trace(body["id"], 1 + len(steps)))
        assert attributes(root.attributes)["runtree.status"] == body["status"]
        assert root.status.code == Status.STATUS_CODE_ERROR
        assert sorted(by_id) == sorted(step.id for step in steps)
        if body["error"]:
            (event,) = root.events
            assert attributes(event.attributes)["exception.type"] == body["error"]["type"]
    interrupted = [
        s for s in store_of(server).get_steps(cancelled["id"]) if s.status != "completed"
    ]
    assert interrupted


def test_executions_crashed_with_their_server_are_exported_when_a_server_starts(
    tmp_path: Path, migrated_database: Callable[[Path], str], collector: Collector
) -> None:
    url = migrated_database(tmp_path / "crashed.db")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a server process that died while running an execution
    with Store(url) as store:
        deploy_version(store, "default", "answer", "def answer():\n    return 42\n")
        cut = start_execution(store, "default", "answer")
        store.claim_execution(cut.id, f"server:{socket.gethostname()}:{gone.pid}")
        first = step_record(
            1, None, 0, None, execution_id=cut.id, name="answer", status=StepStatus.RUNNING
        )
        store.save_steps(cut.id, [first.to_dict()])
    settings = Settings(database_url=url, workers=1, scheduler=False, otlp_endpoint=collector.url)
    with TestClient(create_app(settings)):
        root, by_id = by_step(collector.trace(cut.id, 2))
    assert attributes(root.attributes)["runtree.status"] == "crashed"
    assert attributes(by_id[1].attributes)["runtree.status"] == "interrupted"
    assert by_id[1].parent_span_id == root.span_id


def test_a_hanging_collector_slows_no_execution_and_drops_are_counted(
    tmp_path: Path, migrated_database: Callable[[Path], str]
) -> None:
    with Collector(hang=True) as stuck:
        for client in serve(tmp_path, migrated_database, stuck, otlp_backlog=2, otlp_timeout_s=60):
            deploy(client, "default", "echo", ECHO)
            first = run(client, "default", "echo", input={"x": 0}).json()
            assert first["status"] == "succeeded"
            # The export thread is now stuck in a request the collector does not answer.
            wait_until(stuck.received.is_set, 20, lambda: "no request reached the collector")
            later = [run(client, "default", "echo", input={"x": x}).json() for x in range(1, 5)]
            # Every execution ended normally while the collector held that request.
            assert [b["status"] for b in later] == ["succeeded"] * 4
            assert len(stuck.raw) == 1  # the held request, nothing after it
            found = samples(client)
            assert value(found, "runtree_otlp_backlog") == 2
            assert value(found, "runtree_otlp_traces_dropped_total", reason="backlog_full") == 2
            assert value(found, "runtree_otlp_traces_exported_total") == 0
            # Once the collector answers, what waited goes out.
            stuck.release()
            for body in (first, later[0], later[1]):
                stuck.trace(body["id"], 2)
            wait_until(
                lambda: value(samples(client), "runtree_otlp_traces_exported_total") == 3,
                20,
                lambda: "the exported counter did not reach 3",
            )
