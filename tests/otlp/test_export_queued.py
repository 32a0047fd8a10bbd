"""An execution cancelled while still queued never reaches a runner: the cancel request
exports it (one span: its wait in the queue), once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from runtree.api import create_app
from runtree.settings import Settings

from ..api.conftest import NullDispatcher, authorize_as_admin
from ..api.helpers import API, deploy, run
from ..api.test_metrics import samples, value
from .collector import Collector, attributes, wait_until

ECHO = "def echo(x: int) -> int:\n    return x\n"


def test_a_cancel_while_queued_exports_one_span(
    tmp_path: Path, migrated_database: Callable[[Path], str]
) -> None:
    with Collector() as collector:
        settings = Settings(
            database_url=migrated_database(tmp_path / "q.db"),
            scheduler=False,
            otlp_endpoint=collector.url,
        )
        with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
            authorize_as_admin(client, settings)
            deploy(client, "default", "echo", ECHO)
            queued = run(client, "default", "echo", input={"x": 1}, wait=False).json()
            never = run(client, "default", "echo", input={"x": 2}, wait=False).json()
            cancel = f"{API}/executions/{queued['id']}/cancel"
            assert client.post(cancel).json()["status"] == "cancelled"
            (span,) = collector.trace(queued["id"], 1)
            assert span.name == "default/echo" and not span.parent_span_id
            assert attributes(span.attributes)["runtree.status"] == "cancelled"
            assert span.status.code == Status.STATUS_CODE_ERROR
            assert span.end_time_unix_nano >= span.start_time_unix_nano > 0
            # Cancelling it again changes nothing and sends nothing again.
            assert client.post(cancel).status_code == 200
            wait_until(
                lambda: value(samples(client), "runtree_otlp_traces_exported_total") == 1,
                20,
                lambda: "the trace was not counted",
            )
        assert len(collector.spans()) == 1  # the server has stopped: nothing else came
        assert never["status"] == "queued"  # still queued: not exported
