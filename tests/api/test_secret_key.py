"""The server and a key it cannot use: refused at start; a sealed value that no longer opens
fails its request with 503 (a problem document), never 500 or a wrong signature check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from runtree.api import create_app
from runtree.errors import SecretKeyError
from runtree.settings import Settings

from .conftest import NullDispatcher, authorize_as_admin
from .helpers import API, assert_problem, deploy, store_of
from .test_webhooks import ADD, create_webhook, sign


def test_a_damaged_sealed_secret_is_503_not_500(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    create_webhook(client, "add", "orders", verify="hmac-sha256", secret="s3cret-value")
    body = b'{"x": 1}'
    headers = {"X-Signature-256": "sha256=" + sign("s3cret-value", body)}
    assert client.post("/hooks/orders", content=body, headers=headers).status_code == 202
    with store_of(client).engine.begin() as conn:
        sealed = conn.execute(text("SELECT secret FROM webhooks")).scalar()
        conn.execute(text("UPDATE webhooks SET secret = :s"), {"s": sealed[:-6] + "AAAAAA"})
    response = client.post("/hooks/orders", content=body, headers=headers)
    assert_problem(response, 503, "secret-key-unavailable")
    assert "s3cret-value" not in response.text
    assert client.get(f"{API}/webhooks").status_code == 503


def test_the_server_does_not_start_without_the_key_its_secrets_need(
    tmp_path: Path, migrated_database: Callable[[Path], str]
) -> None:
    settings = Settings(database_url=migrated_database(tmp_path / "api.db"), scheduler=False)
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as first:
        authorize_as_admin(first, settings)
        deploy(first, "default", "add", ADD)
        create_webhook(first, "add", "orders", verify="hmac-sha256", secret="s3cret-value")
    key_file = settings.secret_key_path
    assert key_file.stat().st_mode & 0o777 == 0o600
    key_file.unlink()
    with pytest.raises(SecretKeyError, match="does not exist"):
        with TestClient(create_app(settings, dispatcher=NullDispatcher())):
            pass
    assert not key_file.exists()
