"""The background exporter (runtree.service.otel_export.TraceExporter) against the test's
OTLP/HTTP receiver: requests of bounded size, every trace counted as exported or dropped
(backlog full, collector down, execution gone, shutdown), and a close that returns even
while the collector hangs."""

from __future__ import annotations

import collections
import socket
import threading

from runtree.service.otel_export import SPANS_PER_REQUEST, TraceExporter
from runtree.service.otel_trace import default_resource

from .collector import Collector, wait_until
from .records import FakeStore, execution, step


class Counts:
    def __init__(self) -> None:
        self.exported = 0
        self.dropped: collections.Counter[str] = collections.Counter()

    def trace_exported(self) -> None:
        self.exported += 1

    def trace_dropped(self, reason: str) -> None:
        self.dropped[reason] += 1


def exporter(store: FakeStore, url: str, counts: Counts, **options: object) -> TraceExporter:
    made = TraceExporter(
        store,  # type: ignore[arg-type]
        endpoint=f"{url}/v1/traces",
        counters=counts,
        resource=default_resource(),
        **options,  # type: ignore[arg-type]
    )
    made.start()
    return made


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_big_traces_go_in_requests_of_bounded_size() -> None:
    store = FakeStore()
    big = store.add(
        execution("a" * 32), [step(i, None, i, 1, execution_id="a" * 32) for i in range(1, 1201)]
    )
    small = store.add(execution("b" * 32), [step(1, None, 0, 1, execution_id="b" * 32)])
    counts = Counts()
    with Collector() as collector:
        sender = exporter(store, collector.url, counts, timeout_s=5.0)
        sender.submit(big)
        sender.submit(small)
        assert sender.flush(20)
        sender.close()
        sizes = [
            sum(len(scope.spans) for rs in request.resource_spans for scope in rs.scope_spans)
            for request in collector.requests
        ]
        assert max(sizes) <= SPANS_PER_REQUEST and sum(sizes) == 1201 + 2
        assert len(collector.trace("a" * 32, 1201)) == 1201
    assert (counts.exported, sum(counts.dropped.values())) == (2, 0)


def test_a_closed_port_counts_every_trace_as_dropped() -> None:
    store = FakeStore()
    records = [store.add(execution(f"{n:032x}"), []) for n in range(1, 4)]
    counts = Counts()
    sender = exporter(store, f"http://127.0.0.1:{closed_port()}", counts, timeout_s=0.5)
    for record in records:
        sender.submit(record)
    assert sender.flush(20)
    sender.close()
    assert counts.exported == 0
    assert counts.dropped == {"export_failed": 3}


def test_an_execution_that_is_gone_is_counted_and_the_rest_go_out() -> None:
    store = FakeStore()
    kept = store.add(execution("c" * 32), [])
    counts = Counts()
    with Collector() as collector:
        sender = exporter(store, collector.url, counts)
        sender.submit(execution("d" * 32))  # never stored (pruned, say)
        sender.submit(kept)
        assert sender.flush(20)
        sender.close()
        collector.trace("c" * 32, 1)
    assert (counts.exported, counts.dropped) == (1, {"read_failed": 1})


def test_a_full_backlog_drops_and_close_returns_while_the_collector_hangs() -> None:
    store = FakeStore()
    records = [store.add(execution(f"{n:032x}"), []) for n in range(1, 6)]
    counts = Counts()
    with Collector(hang=True) as stuck:
        sender = exporter(store, stuck.url, counts, timeout_s=1.0, backlog=3)
        sender.submit(records[0])
        wait_until(stuck.received.is_set, 20, lambda: "no request reached the collector")
        for record in records[1:]:  # 3 wait, 1 finds the backlog full
            sender.submit(record)
        assert sender.waiting == 3
        assert counts.dropped == {"backlog_full": 1}
        closing = threading.Thread(target=sender.close)
        closing.start()
        closing.join(15)  # about timeout_s; far less than the collector holds requests
        assert not closing.is_alive(), "close() waited for the hanging collector"
        sender.submit(records[0])  # after close: counted, never sent
        wait_until(
            lambda: sum(counts.dropped.values()) == 6, 20, lambda: f"dropped: {counts.dropped}"
        )
    assert counts.exported == 0
    assert counts.dropped["backlog_full"] == 1
    assert counts.dropped["shutdown"] >= 1  # the submit after close, at least
