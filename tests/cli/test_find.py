"""``runtree find``: the executions that handled a value, through keyed hashes only."""

from __future__ import annotations

import json
import pathlib
import sqlite3

import pytest

from .conftest import Cli

SECRET_FN = '''
def charge(card: dict, password: str, amount: int) -> dict:
    """A nested input with a secret field and a secret parameter."""
    return {"receipt": "R-" + str(amount), "payer": {"email": card["email"]}}
'''


def _found(cli: Cli, *args: str) -> dict:
    outcome = cli("find", *args, "--json")
    assert outcome.exit_code == 0, outcome
    document: dict = json.loads(outcome.stdout)
    return document


def _run(cli: Cli, *args: str) -> str:
    outcome = cli("run", *args, "--json")
    assert outcome.exit_code in (0, 1), outcome
    execution_id: str = json.loads(outcome.stdout)["id"]
    return execution_id


def test_finds_nested_inputs_and_outputs_newest_first(cli: Cli, deployed: pathlib.Path) -> None:
    first = _run(cli, "calculate_order_total", "-a", "customer_id=42")
    second = _run(cli, "calculate_order_total", "-a", "customer_id=7")
    third = _run(cli, "calculate_order_total", "-a", "customer_id=42")
    # "ada" is nowhere in the input: only in get_customer's output, one level down.
    ada = _found(cli, "  ADA ")
    assert [r["execution"]["id"] for r in ada["results"]] == [third, first]
    where = ada["results"][0]["steps"]
    assert {"kind": "output", "key": "name"} in [
        {"kind": s["kind"], "key": s["key"]} for s in where
    ]
    assert {"kind": "output", "key": "customer"} in [
        {"kind": s["kind"], "key": s["key"]} for s in where
    ]
    # Numbers: 42 as typed finds the int input; 100 finds the float subtotal 100.0.
    assert len(_found(cli, "42", "--key", "customer_id")["results"]) == 2
    assert [r["execution"]["id"] for r in _found(cli, "Linus")["results"]] == [second]
    assert len(_found(cli, "100")["results"]) == 3
    # Restricted by key: "NL" is a country, never a customer_id.
    assert len(_found(cli, "nl", "--key", "country")["results"]) == 2
    assert _found(cli, "nl", "--key", "customer_id")["results"] == []
    # By function: only get_customer's own runs are none (they ran inside order totals).
    assert _found(cli, "ada", "--function", "get_customer")["results"] == []
    # Pagination: one per page, newest first, then the rest.
    page = _found(cli, "ada", "--limit", "1")
    assert [r["execution"]["id"] for r in page["results"]] == [third]
    rest = _found(cli, "ada", "--after", page["next_cursor"])
    assert [r["execution"]["id"] for r in rest["results"]] == [first]
    assert rest["next_cursor"] is None
    # Not found, and the table output.
    assert _found(cli, "grace@example.com")["results"] == []
    table = cli("find", "Linus")
    assert second in table.stdout and "get_customer" not in table.stdout
    assert "step" in table.stdout and "output name" in table.stdout


def test_redacted_values_are_found_and_never_stored_in_clear(
    cli: Cli, tmp_path: pathlib.Path, db_url: str
) -> None:
    source = tmp_path / "charge.py"
    source.write_text(SECRET_FN)
    assert cli("deploy", str(source)).exit_code == 0
    card = json.dumps({"email": "Ada@Example.com", "cvv_secret": "991-Zeta-Hidden"})
    run = _run(
        cli,
        "charge",
        "-a",
        f"card={card}",
        "-a",
        "password=Hunter2-Very-Private",
        "-a",
        "amount=4242",
    )
    # The password is redacted everywhere it is shown, yet found.
    shown = cli("show", run, "--json").stdout
    assert "Hunter2" not in shown
    found = _found(cli, "hunter2-very-private")
    assert [r["execution"]["id"] for r in found["results"]] == [run]
    assert {"step_id": 0, "kind": "input", "key": "password"} in found["results"][0]["steps"]
    assert _found(cli, "ada@example.com", "--key", "email")["results"][0]["execution"]["id"] == run
    assert _found(cli, "4242", "--key", "amount")["results"]
    assert _found(cli, "r-4242", "--key", "receipt")["results"]
    # No clear value in the database file (the index holds digests only).
    database = pathlib.Path(db_url.removeprefix("sqlite:///"))
    raw = database.read_bytes()
    for wal in database.parent.glob(database.name + "-wal"):
        raw += wal.read_bytes()
    for clear in (b"Hunter2", b"hunter2", b"991-Zeta", b"991-zeta"):
        assert clear not in raw
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT key, digest FROM value_hashes").fetchall()
    assert rows and all(len(digest) == 32 for _, digest in rows)
    assert not any("hunter" in digest for _, digest in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("",), "value"),
        (("x" * 300,), "value"),
        (("ada", "--after", "not-an-id"), "cursor"),
    ],
)
def test_bad_input_is_a_clear_error(cli: Cli, args: tuple[str, ...], message: str) -> None:
    outcome = cli("find", *args)
    assert outcome.exit_code == 2, outcome
    assert message in outcome.stderr
