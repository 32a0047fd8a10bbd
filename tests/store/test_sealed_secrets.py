"""Secrets at rest (issue 11): webhook secrets, the real values of redacted inputs and the
secret inputs of schedules are sealed with the master key -- nowhere in the database file,
its WAL or a PostgreSQL dump in clear text; a missing, wrong or exposed key is a clear
error; rotation re-encrypts everything and survives an interruption; an upgrade from 0005
seals the plaintext already stored."""

from __future__ import annotations

import base64
import datetime
import os
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from runtree.errors import SecretKeyError
from runtree.models import Trigger
from runtree.service import Principal, deploy
from runtree.service import schedules as schedule_service
from runtree.service import webhooks as webhook_service
from runtree.service.executions import start_execution
from runtree.store import Store, rotation
from runtree.store import migrate as migrations
from runtree.store.master_key import KeySource, MasterKey, generate_key, parse_key
from runtree.store.sealed import ENVELOPE

WEBHOOK_SECRET = "whsec-Plaintext-4f1d9c"
SCHEDULE_TOKEN = "sched-Token-8c2e7a"
RUN_PASSWORD = "run-Password-3b9f0d"
SECRETS = (WEBHOOK_SECRET, SCHEDULE_TOKEN, RUN_PASSWORD)
SOURCE = "def job(password: str = '', api_token: str = '', n: int = 0):\n    return n\n"
TABLES_WITH_TEXT = (
    "webhooks",
    "schedules",
    "execution_private_inputs",
    "executions",
    "audit_log",
    "server_flags",
)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "secret-key"


def _store(url: str, key_file: Path) -> Store:
    return Store(url, keys=KeySource(path=key_file))


def _write_secrets(store: Store) -> str:
    """A webhook with a secret, a schedule and a queued execution with secret inputs;
    returns the execution's id."""
    local = Principal.local()
    deploy(store, "default", "job", SOURCE)
    webhook_service.create_webhook(
        store, local, "default", "job", path="h1", verify="hmac-sha256", secret=WEBHOOK_SECRET
    )
    schedule_service.create_schedule(
        store, local, "default", "job", cron="0 3 * * *", input={"api_token": SCHEDULE_TOKEN}
    )
    execution = start_execution(
        store, "default", "job", {"password": RUN_PASSWORD, "n": 1}, trigger=Trigger.API
    )
    return execution.id


def _raw_sqlite_bytes(url: str) -> bytes:
    path = url.removeprefix("sqlite:///")
    return b"".join(
        Path(path + suffix).read_bytes()
        for suffix in ("", "-wal", "-journal")
        if os.path.exists(path + suffix)
    )


def _postgres_dump(url: str) -> bytes:
    """Every row of every table, as PostgreSQL's COPY writes them (a logical dump)."""
    dump = bytearray()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        assert set(TABLES_WITH_TEXT) <= set(tables)
        for name in tables:
            with conn.cursor().copy(f'COPY "{name}" TO STDOUT') as copy:
                for block in copy:
                    dump.extend(block)
    return bytes(dump)


def _stored_bytes(url: str, backend: str) -> bytes:
    return _raw_sqlite_bytes(url) if backend == "sqlite" else _postgres_dump(url)


def test_no_secret_is_stored_in_clear_text(db_url: str, backend: str, key_file: Path) -> None:
    with _store(db_url, key_file) as store:
        execution_id = _write_secrets(store)
        # Each secret is still there for what needs it, only sealed.
        webhook = store.get_webhook("h1")
        assert webhook is not None and webhook.secret == WEBHOOK_SECRET
        assert store.private_input(execution_id) == {"password": RUN_PASSWORD, "n": 1}
        schedule = store.list_schedules()[0]
        assert schedule.input == {"api_token": "[redacted]"}
        assert store.get_execution(execution_id).input["password"] == "[redacted]"
        with store.engine.connect() as conn:
            sealed = conn.execute(text("SELECT secret FROM webhooks")).scalar()
        assert sealed.startswith(f"{ENVELOPE}.")
        stored = _stored_bytes(db_url, backend)
    # The scan reads the rows themselves: what is stored next to the secrets is there.
    assert b"hmac-sha256" in stored and b"[redacted]" in stored and b"0 3 * * *" in stored
    assert ENVELOPE.encode() in stored
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
        assert base64.b64encode(secret.encode())[:16] not in stored


def test_a_schedule_fire_gives_the_run_its_sealed_secrets(db_url: str, key_file: Path) -> None:
    with _store(db_url, key_file) as store:
        _write_secrets(store)
        schedule = store.list_schedules()[0]
        later = schedule.next_fire_at + datetime.timedelta(seconds=1)
        started = schedule_service.Scheduler(store).tick(later)
        assert len(started) == 1
        assert started[0].input == {"api_token": "[redacted]"}
        assert store.private_input(started[0].id) == {"api_token": SCHEDULE_TOKEN}


def test_the_key_file_is_created_private_on_first_need(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runtree.db'}"
    with Store(url) as store:
        assert store.check_secret_key() is None  # nothing sealed yet; the file now exists
    default = tmp_path / "runtree.db.secret-key"
    assert default.stat().st_mode & 0o777 == 0o600
    assert len(KeySource(path=default).master_keys()) == 1


def test_a_key_file_others_may_read_is_refused(db_url: str, key_file: Path) -> None:
    with _store(db_url, key_file) as store:
        _write_secrets(store)
    key_file.chmod(0o644)
    with _store(db_url, key_file) as store, pytest.raises(SecretKeyError) as error:
        store.check_secret_key()
    assert "chmod 600" in str(error.value) and "0644" in str(error.value)


def test_a_missing_key_is_a_clear_error_and_no_new_key_is_made(db_url: str, key_file: Path) -> None:
    with _store(db_url, key_file) as store:
        execution_id = _write_secrets(store)
    key_file.unlink()
    with _store(db_url, key_file) as store:
        with pytest.raises(SecretKeyError, match="does not exist"):
            store.check_secret_key()
        with pytest.raises(SecretKeyError):
            store.get_webhook("h1")
        with pytest.raises(SecretKeyError):
            store.private_input(execution_id)
    assert not key_file.exists()  # a new key would silently orphan every sealed value


def test_a_wrong_key_is_a_clear_error_not_garbage(
    db_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _store(db_url, key_file) as store:
        _write_secrets(store)
        right = store.check_secret_key()
    monkeypatch.setenv("RUNTREE_SECRET_KEY", generate_key())
    with Store(db_url) as store:
        with pytest.raises(SecretKeyError) as error:
            store.check_secret_key()
        assert f"need key {right}" in str(error.value)
        assert "RUNTREE_SECRET_KEY" in str(error.value)
        with pytest.raises(SecretKeyError):
            store.list_webhooks()


def test_a_damaged_value_does_not_open(db_url: str, key_file: Path) -> None:
    with _store(db_url, key_file) as store:
        _write_secrets(store)
        with store.engine.begin() as conn:
            sealed = conn.execute(text("SELECT secret FROM webhooks")).scalar()
            damaged = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
            conn.execute(text("UPDATE webhooks SET secret = :s"), {"s": damaged})
        with pytest.raises(SecretKeyError, match="damaged or changed"):
            store.get_webhook("h1")


@pytest.mark.parametrize(
    "value",
    ["", "short", base64.b64encode(b"x" * 31).decode(), "not base64 at all!!" * 3],
)
def test_a_bad_key_value_names_its_source(value: str) -> None:
    with pytest.raises(SecretKeyError, match="RUNTREE_SECRET_KEY"):
        KeySource(text=value or ",").master_keys()


def test_derive_key_is_deterministic_and_separates_purposes() -> None:
    key = parse_key(generate_key(), "test")
    again = MasterKey(key.material)
    assert key.derive_key("value-hash/v1") == again.derive_key("value-hash/v1")
    assert len(key.derive_key("value-hash/v1")) == 32
    assert key.derive_key("value-hash/v1") != key.derive_key("seal/v1")
    assert key.derive_key("value-hash/v1") != key.material
    assert key.key_id == again.key_id and len(key.key_id) == 8
    assert key.material.hex() not in repr(key)
    other = parse_key(generate_key(), "test")
    assert other.derive_key("value-hash/v1") != key.derive_key("value-hash/v1")


def _sealed_key_ids(store: Store) -> set[str]:
    return set(store.sealed_counts())


def test_rotate_reseals_everything_and_drops_the_old_key(
    db_url: str, backend: str, key_file: Path
) -> None:
    with _store(db_url, key_file) as store:
        execution_id = _write_secrets(store)
        old = store.check_secret_key()
        report = store.rotate_secret_key()
        assert report.generated and report.replaced == (old,)
        assert report.resealed == {
            "webhooks.secret": 1,
            "execution_private_inputs.sealed_input": 1,
            "schedules.sealed_input": 1,
            "value_hash_keys.sealed_key": 1,  # the value index's HMAC key
        }
        assert _sealed_key_ids(store) == {report.key_id} != {old}
        stored = _stored_bytes(db_url, backend)
    assert f"{ENVELOPE}.{old}.".encode() not in stored
    assert [key.key_id for key in KeySource(path=key_file).master_keys()] == [report.key_id]
    with _store(db_url, key_file) as store:  # a fresh process, with the new file only
        assert store.check_secret_key() == report.key_id
        webhook = store.get_webhook("h1")
        assert webhook is not None and webhook.secret == WEBHOOK_SECRET
        assert store.private_input(execution_id) == {"password": RUN_PASSWORD, "n": 1}


def test_an_interrupted_rotation_keeps_working_and_finishes_when_run_again(
    db_url: str, key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _store(db_url, key_file) as store:
        execution_id = _write_secrets(store)
        old = store.check_secret_key()
    reseal = rotation._reseal_batch
    calls = {"n": 0}

    def crash_after_one_batch(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return reseal(*args, **kwargs)

    monkeypatch.setattr(rotation, "_reseal_batch", crash_after_one_batch)
    with _store(db_url, key_file) as store, pytest.raises(KeyboardInterrupt):
        store.rotate_secret_key(batch_size=1)
    monkeypatch.setattr(rotation, "_reseal_batch", reseal)
    new = KeySource(path=key_file).master_keys()[0].key_id
    assert [k.key_id for k in KeySource(path=key_file).master_keys()] == [new, old]
    # Half-way: values under both keys, and any process (a server) reads and writes them all.
    with _store(db_url, key_file) as server:
        assert _sealed_key_ids(server) == {old, new}
        assert server.check_secret_key() == new  # new values get the new key already
        assert server.get_webhook("h1").secret == WEBHOOK_SECRET  # type: ignore[union-attr]
        assert server.private_input(execution_id) == {"password": RUN_PASSWORD, "n": 1}
        assert server.list_schedules()[0].input == {"api_token": "[redacted]"}
        fresh = start_execution(server, "default", "job", {"password": "x"}, trigger=Trigger.API)
        assert server.sealed_counts()[new]["execution_private_inputs.sealed_input"] >= 1
        # Run again: resumes with the same new key, generates nothing.
        report = server.rotate_secret_key(batch_size=1)
        assert report.key_id == new and not report.generated
        assert _sealed_key_ids(server) == {new}
        assert server.private_input(fresh.id) == {"password": "x"}
    assert [k.key_id for k in KeySource(path=key_file).master_keys()] == [new]


def test_rotation_with_the_key_in_the_environment(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("RUNTREE_SECRET_KEY", old)
    with Store(db_url) as store:
        _write_secrets(store)
        with pytest.raises(SecretKeyError, match="NEW,OLD"):
            store.rotate_secret_key()
    monkeypatch.setenv("RUNTREE_SECRET_KEY", f"{new},{old}")
    with Store(db_url) as store:
        old_id = store.check_secret_key()  # NEW,OLD: the old key stays active until rotated
        report = store.rotate_secret_key()
        assert report.replaced == (old_id,) and report.old_keys_remain
    monkeypatch.setenv("RUNTREE_SECRET_KEY", new)
    with Store(db_url) as store:
        assert store.check_secret_key() == report.key_id
        assert store.get_webhook("h1").secret == WEBHOOK_SECRET  # type: ignore[union-attr]


def test_upgrading_from_0005_seals_the_plaintext_already_stored(
    fresh_url: str, backend: str, key_file: Path
) -> None:
    with _store(fresh_url, key_file) as store:
        migrations.downgrade(store.engine, "0005")
        now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        execution_id = "0" * 31 + "1"
        with store.engine.begin() as conn:  # what runtree 0005 stored: plaintext
            conn.execute(
                text(
                    "INSERT INTO functions (id, namespace, name, created_at) "
                    "VALUES (1, 'default', 'job', :now)"
                ),
                {"now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO versions (id, function_id, number, sha256, source, settings, "
                    "warnings, dependencies, created_at) VALUES (1, 1, 1, 'x', :source, '{}', "
                    "'[]', '[]', :now)"
                ),
                {"source": SOURCE, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO executions (id, function_id, version_id, namespace, name, "
                    "version, trigger, status, input, versions, queued_at, cancel_requested) "
                    "VALUES (:id, 1, 1, 'default', 'job', 1, 'api', 'queued', :input, "
                    ":versions, :now, false)"
                ),
                {
                    "id": execution_id,
                    "input": '{"password": "[redacted]", "n": 1}',
                    "versions": '{"job": 1}',
                    "now": now,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO webhooks (path, namespace, name, version, verify, secret, "
                    "mode, sync_timeout_s, created_at) VALUES ('h1', 'default', 'job', NULL, "
                    "'hmac-sha256', :secret, 'async', 10, :now)"
                ),
                {"secret": WEBHOOK_SECRET, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO schedules (namespace, name, version, cron, timezone, input, "
                    "paused, next_fire_at, created_at) VALUES ('default', 'job', NULL, "
                    "'0 3 * * *', 'UTC', :input, false, :now, :now)"
                ),
                {"input": f'{{"api_token": "{SCHEDULE_TOKEN}", "n": 2}}', "now": now},
            )
            conn.execute(
                text("INSERT INTO execution_private_inputs (execution_id, input) VALUES (:e, :i)"),
                {"e": execution_id, "i": f'{{"password": "{RUN_PASSWORD}", "n": 1}}'},
            )
        assert RUN_PASSWORD.encode() in _stored_bytes(fresh_url, backend)
    with _store(fresh_url, key_file) as store:  # opening migrates: 0006 seals
        assert store.schema_revision() == migrations.HEAD_REVISION
        assert store.get_webhook("h1").secret == WEBHOOK_SECRET  # type: ignore[union-attr]
        assert store.private_input(execution_id) == {"password": RUN_PASSWORD, "n": 1}
        assert store.list_schedules()[0].input == {"api_token": "[redacted]", "n": 2}
        stored = _stored_bytes(fresh_url, backend)
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
    with _store(fresh_url, key_file) as store:  # and back: 0005 gets its plaintext again
        migrations.downgrade(store.engine, "0005", keyring=store.keyring)
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT secret FROM webhooks")).scalar() == WEBHOOK_SECRET
        migrations.upgrade(store.engine, keyring=store.keyring)
        assert store.get_webhook("h1").secret == WEBHOOK_SECRET  # type: ignore[union-attr]
