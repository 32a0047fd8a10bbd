"""``runtree secrets status|rotate|generate-key`` on a database."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest

from .conftest import Cli


def _webhook_with_secret(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "cli-Secret-9d8e")
    made = cli(
        "webhooks",
        "create",
        "calculate_tax",
        "--path",
        "tax",
        "--verify",
        "hmac-sha256",
        "--secret-from-env",
        "HOOK_SECRET",
    )
    assert made.exit_code == 0, made


def test_status_and_rotate(
    cli: Cli, deployed: pathlib.Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _webhook_with_secret(cli, monkeypatch)
    before = json.loads(cli("secrets", "status", "--json").stdout)
    key_file = db_url.removeprefix("sqlite:///") + ".secret-key"
    assert before["source"] == f"the key file {key_file}"
    assert before["active"] == before["keys"][0]
    assert before["sealed"] == {before["active"]: {"webhooks.secret": 1}}
    rotated = cli("secrets", "rotate", "--batch-size", "1")
    assert rotated.exit_code == 0, rotated
    assert "1 value(s) re-encrypted" in rotated.stdout
    assert f"replaced key(s): {before['active']}" in rotated.stdout
    after = json.loads(cli("secrets", "status", "--json").stdout)
    assert after["keys"] == [after["active"]] and after["active"] != before["active"]
    assert after["sealed"] == {after["active"]: {"webhooks.secret": 1}}
    text = cli("secrets", "status").stdout
    assert f"sealed with {after['active']}: webhooks.secret 1" in text


def test_a_key_file_others_may_read_exits_2_with_the_fix(
    cli: Cli, deployed: pathlib.Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _webhook_with_secret(cli, monkeypatch)
    key_file = pathlib.Path(db_url.removeprefix("sqlite:///") + ".secret-key")
    key_file.chmod(0o640)
    for args in (("secrets", "status"), ("webhooks", "list")):
        refused = cli(*args)
        assert refused.exit_code == 2, refused
        assert f"chmod 600 {key_file}" in refused.stderr


def test_generate_key_prints_32_random_bytes(cli: Cli) -> None:
    first, second = cli("secrets", "generate-key"), cli("secrets", "generate-key")
    assert len(base64.b64decode(first.stdout.strip(), validate=True)) == 32
    assert first.stdout != second.stdout


def test_secrets_refuse_a_server(cli: Cli) -> None:
    refused = cli("--server", "http://127.0.0.1:9", "secrets", "status")
    assert refused.exit_code == 2 and "without --server" in refused.stderr
