"""A tiny OTLP/HTTP trace receiver for the tests: ``POST /v1/traces`` on 127.0.0.1 (a port
the OS picks), each request decoded with opentelemetry-proto and kept, raw bytes too.

``hang=True``: each request is held unanswered until :meth:`Collector.release` (a slow or
stuck collector); ``status``: the HTTP status it answers with.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


def value_of(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def attributes(pairs: Iterator[KeyValue] | Any) -> dict[str, Any]:
    return {pair.key: value_of(pair.value) for pair in pairs}


class Collector:
    def __init__(self, *, hang: bool = False, status: int = 200) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []  # names in lower case
        self.received = threading.Event()  # set on the first request (even a held one)
        self._release = threading.Event()
        if not hang:
            self._release.set()
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                data = gzip.decompress(body) if encoding == "gzip" else body
                data = zlib.decompress(data) if encoding == "deflate" else data
                request = ExportTraceServiceRequest.FromString(data)
                with collector._lock:
                    collector.raw.append(data)
                    collector.headers.append({k.lower(): v for k, v in self.headers.items()})
                    if self.path == "/v1/traces" and status == 200:
                        collector.requests.append(request)
                collector.received.set()
                collector._release.wait(60)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(status if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        """Answer the held requests and every later one at once."""
        self._release.set()

    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        """Every span received: (its resource's attributes, the span)."""
        with self._lock:
            requests = list(self.requests)
        return [
            (attributes(resource_spans.resource.attributes), span)
            for request in requests
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]

    def trace(self, execution_id: str, count: int, timeout: float = 20.0) -> list[Span]:
        """The spans of the execution's trace, once ``count`` of them arrived."""
        trace_id = bytes.fromhex(execution_id)
        found: list[Span] = []

        def arrived() -> bool:
            found[:] = [span for _, span in self.spans() if span.trace_id == trace_id]
            return len(found) >= count

        wait_until(arrived, timeout, lambda: f"{len(found)} of {count} spans arrived")
        return found


def wait_until(condition: Callable[[], bool], timeout: float, why: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {why()}"
        time.sleep(0.02)
