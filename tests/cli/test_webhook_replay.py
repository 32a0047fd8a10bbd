"""``runtree webhooks replay ID [--version N]`` on a database (through a server: the remote
CLI test, tests/e2e/test_remote_cli.py)."""

from __future__ import annotations

import json
import pathlib

import pytest

from runtree.errors import DeliveryRejected
from runtree.service import webhooks as webhook_service
from runtree.store import Store

from .conftest import Cli

HOOK = (
    "def paid(order_id: int, amount: float):\n    return {'order': order_id, 'charged': amount}\n"
)
FIXED = HOOK.replace("'charged': amount", "'charged': amount, 'fixed': True")


def _receive(db_url: str, body: bytes) -> str:
    """A delivery on /hooks/paid, as the server records it; returns its id."""
    with Store(db_url) as store:
        delivery = webhook_service.receive(
            store,
            "paid",
            method="POST",
            query_string="",
            headers=[("content-type", "application/json"), ("x-api-token", "t0ken")],
            body=body,
        )
        return delivery.record.id


def test_replay_a_delivery_against_its_version_and_another(
    cli: Cli, db_url: str, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "paid.py"
    source.write_text(HOOK)
    assert cli("deploy", str(source)).exit_code == 0
    assert cli("webhooks", "create", "paid", "--path", "paid").exit_code == 0
    delivery_id = _receive(db_url, b'{"order_id": 7, "amount": 19.5}')
    original = json.loads(cli("webhooks", "delivery", delivery_id, "--json").stdout)
    source.write_text(FIXED)
    assert cli("deploy", str(source)).exit_code == 0

    same = cli("webhooks", "replay", delivery_id.upper(), "--json")
    assert same.exit_code == 0, same
    replayed = json.loads(same.stdout)
    assert replayed["trigger"] == "replay" and replayed["status"] == "succeeded"
    assert replayed["version"] == 1 and replayed["replay_of"] == original["execution_id"]
    assert replayed["output"] == {"order": 7, "charged": 19.5}

    fixed = json.loads(cli("webhooks", "replay", delivery_id, "--version", "2", "--json").stdout)
    assert fixed["version"] == 2 and fixed["output"]["fixed"] is True

    text = cli("webhooks", "replay", delivery_id, "--no-tree")
    assert text.exit_code == 0 and "trigger   replay" in text.stdout and "19.5" in text.stdout
    queued = cli("webhooks", "replay", delivery_id, "--no-wait")
    shown = json.loads(cli("show", queued.stdout.strip(), "--json").stdout)
    assert shown["status"] == "queued" and shown["trigger"] == "replay"


def test_replay_refusals_name_the_problem(cli: Cli, db_url: str, tmp_path: pathlib.Path) -> None:
    source = tmp_path / "paid.py"
    source.write_text(HOOK)
    cli("deploy", str(source))
    cli("webhooks", "create", "paid", "--path", "paid", "--verify", "hmac-sha256")
    with pytest.raises(DeliveryRejected) as rejected:
        _receive(db_url, b"{}")
    refused = cli("webhooks", "replay", rejected.value.delivery.id)
    assert refused.exit_code == 2 and "cannot be replayed" in refused.stderr
    missing = cli("webhooks", "replay", "0" * 32)
    assert missing.exit_code == 2 and "delivery not found" in missing.stderr
    bad_version = cli("webhooks", "replay", "0" * 32, "--version", "0")
    assert bad_version.exit_code == 2 and "--version" in bad_version.stderr
