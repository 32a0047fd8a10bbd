"""Schemathesis over the whole OpenAPI document, as an admin: no request may produce a 5xx,
a response that violates its declared schema, a status or content type the document does not
declare -- and no error response may carry a stack trace, a file path or a secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from runtree.api import create_app
from runtree.settings import Settings

pytestmark = pytest.mark.slow

WEBHOOK_SECRET = "whsec_schemathesis_never_echoed"


class Server:
    def __init__(self) -> None:
        self.client: TestClient | None = None
        self.key = ""


SERVER = Server()


def _app() -> Any:
    directory = Path(__import__("tempfile").mkdtemp(prefix="runtree-schemathesis-"))
    config = Settings(
        database_url=f"sqlite:///{directory}/fuzz.db",
        workers=1,
        scheduler=False,
        shutdown_grace_s=0.5,
    )
    app = create_app(config)
    client = TestClient(app)
    client.__enter__()  # runs the lifespan: store, dispatcher, first admin key
    SERVER.client = client
    SERVER.key = config.admin_key_path.read_text().strip()
    headers = {"Authorization": f"Bearer {SERVER.key}"}
    code = "def f(x: int = 0, note: str = ''):\n    return x\n"
    for ns in ("default", "a"):
        client.put(f"/api/v1/functions/{ns}/f", json={"code": code}, headers=headers)
        client.post(
            f"/api/v1/functions/{ns}/f/executions", json={"input": {"x": 1}}, headers=headers
        )
    client.post(
        "/api/v1/webhooks",
        json={"function": "f", "path": "f", "mode": "sync", "sync_timeout_s": 5},
        headers=headers,
    )
    client.post(
        "/api/v1/webhooks",
        json={"function": "a/f", "path": "stripe", "verify": "stripe", "secret": WEBHOOK_SECRET},
        headers=headers,
    )
    client.post("/api/v1/schedules", json={"function": "f", "cron": "0 3 * * *"}, headers=headers)
    return app


schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _app())


@pytest.fixture(scope="module", autouse=True)
def _shutdown() -> Iterator[None]:
    yield
    if SERVER.client is not None:
        SERVER.client.__exit__(None, None, None)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
def test_api_conforms_to_its_openapi_document(case: Any) -> None:
    if (
        isinstance(case.body, dict)
        and case.body.get("wait") is not False
        and case.path.endswith("/executions")
    ):
        case.body = {**case.body, "timeout_s": 5}  # never wait out a 30 s time limit
    response = case.call(headers={"Authorization": f"Bearer {SERVER.key}"})
    case.validate_response(
        response,
        checks=(
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ),
    )
    if response.status_code >= 400:
        text = response.text
        assert "Traceback" not in text and '.py", line' not in text
        assert "/work/" not in text and "site-packages" not in text
        assert SERVER.key not in text and WEBHOOK_SECRET not in text
