"""Structured logs (issue 11): the JSON formatter, request ids, one access record per request
with its key id and execution, execution lifecycle records -- in the app -- and a real
`runtree serve --log-format json` whose stderr is JSON lines only, uvicorn's included."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.api.logs import JsonFormatter, logging_config
from runtree.settings import Settings

from .conftest import NullDispatcher, authorize_as_admin
from .helpers import API, deploy

ADD = "def add(x: int, y: int = 1):\n    return x + y\n"


class Collected(logging.Handler):
    """Keeps the JSON lines the formatter makes of each record."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def collected() -> Iterator[Collected]:
    handler = Collected()
    logger = logging.getLogger("runtree")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


def test_the_formatter_writes_one_json_object_with_the_fields() -> None:
    record = logging.LogRecord("runtree.x", logging.WARNING, __file__, 1, "a %s", ("b",), None)
    record.fields = {"execution_id": "e1", "duration_ms": 2.5, "message": "not this one"}
    line = JsonFormatter().format(record)
    assert "\n" not in line
    document = json.loads(line)
    assert document["level"] == "warning" and document["logger"] == "runtree.x"
    assert document["message"] == "a b"  # a field never overrides the record's own members
    assert document["execution_id"] == "e1" and document["duration_ms"] == 2.5
    assert document["time"].endswith("Z")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys as _sys

        failed = logging.LogRecord("runtree", logging.ERROR, __file__, 1, "x", (), _sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(failed))["exception"]


def test_requests_get_an_id_and_one_access_record_each(
    tmp_path: Path, migrated_database: Callable[[Path], str], collected: Collected
) -> None:
    settings = Settings(database_url=migrated_database(tmp_path / "api.db"), scheduler=False)
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
        key = authorize_as_admin(client, settings)
        deploy(client, "default", "add", ADD)
        started = client.post(
            f"{API}/functions/default/add/executions",
            json={"input": {"x": 1}, "wait": False},
            headers={"X-Request-ID": "trace-42"},
        )
        execution_id = started.json()["id"]
        assert started.headers["X-Request-ID"] == "trace-42"
        read = client.get(f"{API}/executions/{execution_id}")
        generated = read.headers["X-Request-ID"]
        assert len(generated) == 32 and generated != "trace-42"
        hostile = client.get(f"{API}/executions/nope", headers={"X-Request-ID": "a\tb" * 100})
        assert hostile.status_code == 404 and hostile.headers["X-Request-ID"] != "a\tb" * 100
    access = [line for line in collected.lines if line["logger"] == "runtree.access"]
    by_id = {line["request_id"]: line for line in access}
    run = by_id["trace-42"]
    assert run["method"] == "POST" and run["path"] == "/api/v1/functions/default/add/executions"
    assert run["status"] == 202 and run["execution_id"] == execution_id
    assert run["key_id"] == key[: len("rtk_") + 12]
    assert isinstance(run["duration_ms"], float) and run["duration_ms"] >= 0
    got = by_id[generated]
    assert got["status"] == 200 and got["execution_id"] == execution_id
    assert got["message"] == f"GET /api/v1/executions/{execution_id} 200"
    assert len(access) == len(by_id)  # one record per request


def _serve(database: str, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("RUNTREE_DATABASE_URL", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtree",
            "serve",
            "--port",
            str(port),
            "--database",
            database,
            "--workers",
            "1",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


@pytest.mark.slow
def test_serve_log_format_json_writes_json_lines_only(tmp_path: Path) -> None:
    from tests.e2e.conftest import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{tmp_path / 'runtree.db'}"
    process = _serve(database, port, "--log-format", "json")
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "runtree serve exited"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "runtree serve did not start"
            time.sleep(0.1)
        key = (tmp_path / "runtree.db.admin-key").read_text().strip()
        with httpx.Client(
            base_url=f"{url}/api/v1", timeout=60, headers={"Authorization": f"Bearer {key}"}
        ) as client:
            deployed = client.put("/functions/default/add", json={"code": ADD})
            assert deployed.status_code in (200, 201), deployed.text
            ran = client.post(
                "/functions/default/add/executions",
                json={"input": {"x": 2}},
                headers={"X-Request-ID": "req-7"},
            )
            assert ran.status_code == 200, ran.text
            execution_id = ran.json()["id"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    lines = [line for line in stderr.decode().splitlines() if line.strip()]
    documents = [json.loads(line) for line in lines]  # every line is JSON
    loggers = {document["logger"] for document in documents}
    assert {"uvicorn.error", "runtree.access", "runtree.executions", "runtree.serve"} <= loggers
    messages = " ".join(document["message"] for document in documents)
    assert "Application startup complete" in messages and f"listening on {url}" in messages
    request = next(d for d in documents if d.get("request_id") == "req-7")
    assert request["status"] == 200 and request["execution_id"] == execution_id
    assert request["key_id"] == key[: len("rtk_") + 12] and request["duration_ms"] > 0
    lifecycle = [d for d in documents if d.get("execution_id") == execution_id and "event" in d]
    assert [d["event"] for d in lifecycle] == ["execution.started", "execution.finished"]
    finished = lifecycle[1]
    assert finished["function"] == "default/add" and finished["status"] == "succeeded"
    assert isinstance(finished["duration_ms"], int)


def test_the_text_format_keeps_uvicorns_default_configuration() -> None:
    assert logging_config("text") is None
    config = logging_config("json")
    assert config is not None
    assert config["formatters"]["json"]["()"] == "runtree.api.logs.JsonFormatter"
    assert config["loggers"]["uvicorn"]["handlers"] == ["json"]
    assert config["loggers"]["runtree"] == {
        "handlers": ["json"],
        "level": "INFO",
        "propagate": False,
    }
    assert config["loggers"]["uvicorn.access"]["handlers"] == []  # runtree.access instead
    assert config["root"]["handlers"] == ["json"]
    with pytest.raises(ValueError, match="text, json"):
        logging_config("xml")
