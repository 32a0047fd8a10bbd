"""A ``runtree worker`` does what ``runtree serve`` does around the executions it runs: it
exports each one as an OpenTelemetry trace (with ``RUNTREE_OTLP_ENDPOINT``) and reads the
database's secret key, refusing to start without the right one (instead of failing, one by
one, the executions that have secret inputs)."""

from __future__ import annotations

import base64
import os
import time

import pytest

from runtree.errors import SecretKeyError
from runtree.service import Principal, deploy, start_execution
from runtree.service import webhooks as webhook_service
from runtree.service.worker import start_worker
from runtree.settings import Settings
from runtree.store import Store
from runtree.store.master_key import KeySource

from ..otlp.collector import Collector, wait_until

pytestmark = pytest.mark.postgres

ECHO = "def echo(x: int) -> int:\n    return double(x)\n\n\ndef double(x):\n    return 2 * x\n"


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_a_worker_exports_the_executions_it_runs(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTREE_SANDBOX", "off")
    monkeypatch.setenv("RUNTREE_SECRET_KEY", _key())
    with Collector() as collector:
        settings = Settings(database_url=pg_url, workers=1, otlp_endpoint=collector.url)
        store = Store(pg_url, keys=KeySource.for_database(pg_url, settings.secret_key_file))
        try:
            store.check_secret_key()
            deploy(store, "default", "echo", ECHO)
            worker = start_worker(settings, slots=1, queues=["default"])
            try:
                execution = start_execution(store, "default", "echo", {"x": 21})
                wait_until(
                    lambda: len(collector.spans()) >= 3,
                    timeout=60,
                    why=lambda: f"{len(collector.spans())} spans received",
                )
            finally:
                worker.stop(1.0)
            spans = [span for _, span in collector.spans()]
            assert {span.trace_id.hex() for span in spans} == {execution.id}
            names = [span.name for span in spans]
            assert any("double" in name for name in names), names
            assert any(name.endswith("echo") for name in names), names
        finally:
            store.close()


def test_a_worker_without_the_databases_key_refuses_to_start(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTREE_SANDBOX", "off")
    monkeypatch.setenv("RUNTREE_SECRET_KEY", _key())
    store = Store(pg_url, keys=KeySource.for_database(pg_url, None))
    try:
        store.check_secret_key()  # the database's first start: its key is the one set above
        deploy(store, "default", "echo", ECHO)
        webhook_service.create_webhook(  # something sealed under that key
            store,
            Principal.local(),
            "default",
            "echo",
            path="h",
            verify="hmac-sha256",
            secret="a-webhook-secret",
        )
    finally:
        store.close()
    monkeypatch.setenv("RUNTREE_SECRET_KEY", _key())  # another machine, another key
    started = time.monotonic()
    with pytest.raises(SecretKeyError):
        start_worker(Settings(database_url=pg_url, workers=1), slots=1, queues=["default"])
    assert time.monotonic() - started < 60
