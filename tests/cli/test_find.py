"""``runtree find``: the executions that handled a value, through keyed hashes only."""

from __future__ import annotations

import hashlib
import json
import pathlib
import sqlite3

import pytest

from runtree.store import Store, value_index

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


def _deploy(cli: Cli, path: pathlib.Path, source: str) -> None:
    path.write_text(source)
    assert cli("deploy", str(path)).exit_code == 0


def _database_bytes(db_url: str) -> bytes:
    """The SQLite database file and its write-ahead log, as stored."""
    database = pathlib.Path(db_url.removeprefix("sqlite:///"))
    raw = database.read_bytes()
    for wal in database.parent.glob(database.name + "-wal"):
        raw += wal.read_bytes()
    return raw


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
    assert second in table.stdout
    # The run's function, then each step that handled it, with its function.
    lines = table.stdout.splitlines()
    assert lines[0].startswith(f"{second}  default/calculate_order_total v1  succeeded  ")
    assert "    step 2 get_customer: output name" in lines


def test_redacted_values_are_found_and_never_stored_in_clear(
    cli: Cli, tmp_path: pathlib.Path, db_url: str
) -> None:
    _deploy(cli, tmp_path / "charge.py", SECRET_FN)
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
    # In the run's input (the server held it before redaction) and in step 1's redacted
    # parameter (prehashed by the worker, which saw it in clear).
    assert [
        (s["step_id"], s["kind"], s["key"], s["name"]) for s in found["results"][0]["steps"]
    ] == [
        (0, "input", "password", None),
        (1, "input", "password", "charge"),
    ]
    cvv = _found(cli, "991-zeta-hidden", "--key", "cvv_secret")["results"]
    assert [[s["step_id"] for s in r["steps"]] for r in cvv] == [[0, 1]]
    assert _found(cli, "ada@example.com", "--key", "email")["results"][0]["execution"]["id"] == run
    assert _found(cli, "4242", "--key", "amount")["results"]
    assert _found(cli, "r-4242", "--key", "receipt")["results"]
    # No clear value in the database file (the index holds digests only).
    raw = _database_bytes(db_url)
    for clear in (b"Hunter2", b"hunter2", b"991-Zeta", b"991-zeta"):
        assert clear not in raw
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
        rows = connection.execute("SELECT key, digest FROM value_hashes").fetchall()
    assert rows and all(len(digest) == 32 for _, digest in rows)
    assert not any("hunter" in digest for _, digest in rows)


def test_shadow_runs_only_when_asked(cli: Cli, deployed: pathlib.Path) -> None:
    run = _run(cli, "calculate_order_total", "-a", "customer_id=42")
    shadow = cli("deploy", str(deployed / "fixed" / "get_customer.py"), "--shadow")
    assert shadow.exit_code == 0, shadow
    assert [r["execution"]["id"] for r in _found(cli, "ada")["results"]] == [run]
    both = _found(cli, "ada", "--shadow")["results"]
    assert [r["execution"]["trigger"] for r in both] == ["shadow", "cli"]
    assert "shadow run" in cli("find", "ada", "--shadow").stdout


NESTED_SECRETS_FN = '''
def sign_in(user: str) -> str:
    """The secrets exist only inside the run: made here, redacted in the nested step."""
    account = {"email": user + "@example.com", "api_key": "AK-" + user + "-7781"}
    return check_password(user, "Nested-" + user + "-Passphrase", account)


def check_password(user: str, password: str, account: dict) -> str:
    return "ok " + user
'''


def test_values_redacted_in_nested_steps_are_found(
    cli: Cli, tmp_path: pathlib.Path, db_url: str
) -> None:
    _deploy(cli, tmp_path / "sign_in.py", NESTED_SECRETS_FN)
    run = _run(cli, "sign_in", "-a", "user=grace")
    _run(cli, "sign_in", "-a", "user=linus")
    shown = cli("show", run, "--json").stdout
    assert "Passphrase" not in shown and "AK-grace" not in shown and '"hidden"' not in shown
    # A parameter named password, in step 2 only (never in the run's input).
    found = _found(cli, "nested-grace-passphrase")
    assert [r["execution"]["id"] for r in found["results"]] == [run]
    assert found["results"][0]["steps"] == [
        {
            "step_id": 2,
            "kind": "input",
            "key": "password",
            "name": "check_password",
            "function": "default/sign_in",  # a helper of the module sign_in.py
        }
    ]
    # A mapping entry under a secret key, inside a step's input.
    keyed = _found(cli, "ak-grace-7781", "--key", "api_key")
    assert [
        (r["execution"]["id"], [s["step_id"] for s in r["steps"]]) for r in keyed["results"]
    ] == [(run, [2])]
    assert _found(cli, "ak-grace-7781", "--key", "password")["results"] == []
    # No clear secret in the database file (the source holds only their parts); the digests
    # are the only trace.
    raw = _database_bytes(db_url)
    for clear in (b"Nested-grace", b"nested-grace", b"AK-grace", b"ak-grace"):
        assert clear not in raw


KEY_PROBE_FN = '''
import gc
import hashlib
import os
import sys


def probe() -> None:
    """Prints what user code can reach of the value index's key: short digests of every
    32-byte string or bytes (the key) and 64-digit text (the key in hex) held by its objects,
    its callers' frames and its environment."""
    found = set()
    objects = gc.get_objects()
    for frame in sys._current_frames().values():
        while frame is not None:
            objects.extend(frame.f_locals.values())
            frame = frame.f_back
    for obj in objects:
        for ref in [obj, *gc.get_referents(obj)]:
            if type(ref) in (bytes, str) and len(ref) in (32, 64):
                data = ref if type(ref) is bytes else ref.encode("utf-8", "surrogatepass")
                found.add(hashlib.sha256(data).hexdigest()[:8])
    for text in os.environ.values():
        found.add(hashlib.sha256(text.encode()).hexdigest()[:8])
    print(" ".join(sorted(found)))
'''


def test_user_code_cannot_reach_the_index_key(
    cli: Cli, tmp_path: pathlib.Path, db_url: str
) -> None:
    """The worker prehashes redacted values without the key (runtree.tracking.value_digest):
    neither the job nor the worker's environment carries it, so the code it runs cannot read
    it. The probe sees its own process's objects (a key in the job would be among them)."""
    _deploy(cli, tmp_path / "probe.py", KEY_PROBE_FN)
    run = _run(cli, "probe")
    assert _found(cli, "probe", "--key", "nothing")["results"] == []  # the key exists by now
    with Store(db_url) as store, store._db.reading() as session:
        key = value_index._stored_key(session, create=False)
    assert key is not None
    shown = json.loads(cli("show", run, "--json").stdout)
    digests = set(shown["steps"][0]["stdout"].split())
    # The probe sees the job: the execution id it carries is among what it found.
    assert len(run) == 32 and hashlib.sha256(run.encode()).hexdigest()[:8] in digests
    for form in (key, key.hex().encode()):
        assert hashlib.sha256(form).hexdigest()[:8] not in digests


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
