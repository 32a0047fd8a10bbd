"""``runtree keys``, ``audit``, ``webhooks``, ``schedules`` and ``replay`` on a database."""

from __future__ import annotations

import json
import pathlib

import pytest

from runtree.service.access import hash_key
from runtree.store import Store

from .conftest import Cli


def test_keys_are_shown_once_stored_hashed_and_revocable(cli: Cli, db_url: str) -> None:
    created = cli("keys", "create", "--role", "runner", "--namespace", "shop", "--name", "ci")
    assert created.exit_code == 0, created
    key = created.stdout.strip()
    assert key.startswith("rtk_") and "only time" in created.stderr
    listed = cli("keys", "list")
    prefix = key[: len("rtk_") + 12]
    assert prefix in listed.stdout and "runner" in listed.stdout and "shop" in listed.stdout
    assert key not in listed.stdout
    with Store(db_url) as store:
        record = store.find_api_key(hash_key(key))
        assert record is not None and record.active
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT * FROM api_keys").fetchall()
        assert key not in repr(stored)
    assert cli("keys", "revoke", prefix).exit_code == 0
    assert prefix not in cli("keys", "list").stdout
    assert prefix in cli("keys", "list", "--all").stdout
    refused = cli("keys", "create", "--role", "admin", "--namespace", "shop")
    assert refused.exit_code == 2 and "admin keys act in every namespace" in refused.stderr
    assert cli("keys", "create", "--role", "boss").exit_code == 2


def test_audit_records_who_did_what(cli: Cli, deployed: pathlib.Path) -> None:
    cli("keys", "create", "--role", "viewer")
    entries = json.loads(cli("audit", "--json").stdout)
    actions = [entry["action"] for entry in entries]
    assert actions[0] == "key.create" and actions.count("function.deploy") == 4
    assert all(entry["actor"].startswith("local:") for entry in entries)
    table = cli("audit", "--action", "function.deploy").stdout
    assert "default/calculate_order_total v1" in table and "key.create" not in table


def test_webhooks_create_list_delete(
    cli: Cli, deployed: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "whsec_from_env")
    made = cli(
        "webhooks",
        "create",
        "calculate_order_total",
        "--path",
        "order-paid",
        "--verify",
        "stripe",
        "--secret-from-env",
        "HOOK_SECRET",
        "--mode",
        "sync",
    )
    assert made.exit_code == 0, made
    assert "POST /hooks/order-paid" in made.stdout and "whsec_from_env" not in made.stdout
    generated = cli("webhooks", "create", "calculate_tax", "--path", "gh", "--verify", "github")
    assert "signing secret (shown once" in generated.stdout
    listed = json.loads(cli("webhooks", "list", "--json").stdout)
    assert [w["path"] for w in listed] == ["gh", "order-paid"]
    assert all("secret" not in w for w in listed)
    missing = cli(
        "webhooks",
        "create",
        "calculate_tax",
        "--path",
        "x",
        "--secret-from-env",
        "NOT_SET_ANYWHERE",
    )
    assert missing.exit_code == 2 and "not set" in missing.stderr
    taken = cli("webhooks", "create", "calculate_tax", "--path", "gh")
    assert taken.exit_code == 2 and "already in use" in taken.stderr
    assert cli("webhooks", "delete", "gh").exit_code == 0
    assert "gh" not in cli("webhooks", "list").stdout
    assert cli("webhooks", "deliveries", "order-paid").stderr.strip() == "no deliveries"


def test_schedules_create_list_pause_resume_delete(cli: Cli, deployed: pathlib.Path) -> None:
    made = cli(
        "schedules",
        "create",
        "calculate_order_total",
        "--cron",
        "0 3 * * *",
        "--timezone",
        "Europe/Amsterdam",
        "--input",
        '{"customer_id": 42}',
    )
    assert made.exit_code == 0, made
    assert "schedule 1: default/calculate_order_total at 03:00 every day" in made.stdout
    listed = json.loads(cli("schedules", "list", "--json").stdout)
    assert listed[0]["input"] == {"customer_id": 42} and not listed[0]["paused"]
    assert "paused schedule 1" in cli("schedules", "pause", "1").stdout
    assert "paused" in cli("schedules", "list").stdout
    assert "resumed schedule 1" in cli("schedules", "resume", "1").stdout
    assert "(no runs yet)" in cli("schedules", "show", "1").stdout
    bad = cli("schedules", "create", "calculate_order_total", "--cron", "0 25 * * *")
    assert bad.exit_code == 2 and "invalid cron" in bad.stderr
    bad_input = cli("schedules", "create", "calculate_order_total", "--cron", "0 3 * * *")
    assert bad_input.exit_code == 2 and "customer_id" in bad_input.stderr
    assert cli("schedules", "delete", "1").exit_code == 0
    assert cli("schedules", "show", "1").exit_code == 2


def test_server_and_database_options_conflict_and_unreachable_servers(cli: Cli) -> None:
    both = cli("functions", "--server", "http://127.0.0.1:9")
    assert both.exit_code == 2  # the fixture passes --database too
    assert "cannot be combined" in both.stderr


@pytest.mark.slow
def test_replay_runs_the_same_version_and_input_again(cli: Cli, deployed: pathlib.Path) -> None:
    first = json.loads(cli("run", "calculate_order_total", "-a", "customer_id=42", "--json").stdout)
    again = cli("replay", first["id"][:12], "--json")
    assert again.exit_code == 0, again
    replayed = json.loads(again.stdout)
    assert replayed["trigger"] == "replay" and replayed["replay_of"] == first["id"]
    assert (replayed["input"], replayed["output"]) == (first["input"], first["output"])
    assert "execution.replay" in cli("audit").stdout
    (entry,) = json.loads(cli("audit", "--action", "execution.replay", "--json").stdout)
    assert first["id"] in entry["target"] and replayed["id"] in entry["target"]
