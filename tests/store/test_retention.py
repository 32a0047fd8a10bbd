"""Retention: the one deletion function covers every per-execution table, policies select
exactly what they should, pruning never touches pending work, SQLite gives space back."""

from __future__ import annotations

import datetime
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtree.errors import Forbidden, InvalidRetention, NotFoundError
from runtree.models import ExecutionRecord, RetentionKind, Role, Trigger, VersionRecord
from runtree.service.access import Principal
from runtree.service.retention import (
    Target,
    parse_target,
    prune,
    remove_policy,
    set_policy,
    storage,
)
from runtree.store import DeliveryData, RunSpec, Store
from runtree.store.retention import EXECUTION_DATA, delete_execution_data
from runtree.store.schema import Base

from .store_helpers import captured, deploy, make_step

ADMIN = Principal.local()
LATER = datetime.timedelta(days=40)


def run(
    store: Store,
    version: VersionRecord,
    *,
    steps: int = 3,
    finish: bool = True,
    replay_of: str | None = None,
    private: Any = None,
) -> ExecutionRecord:
    """A finished (or, without ``finish``, queued) execution with ``steps`` steps."""
    execution = store.enqueue_execution(
        version=version,
        trigger=Trigger.REPLAY if replay_of else Trigger.API,
        input={"n": 1},
        versions={version.name: version.number},
        replay_of=replay_of,
        private_input=private,
    )
    if not finish:
        return execution
    store.claim_execution(execution.id, "worker")
    batch = [make_step(1)] + [make_step(i, parent_id=1) for i in range(2, steps + 1)]
    return store.finish_execution(execution.id, status="succeeded", output=1, steps=batch)


def counts(store: Store, execution_id: str) -> dict[str, int]:
    """Rows naming ``execution_id`` in every table of the database that has such a column."""
    found = {}
    with store.engine.connect() as conn:
        for table_name, column in _execution_columns(store.engine):
            found[f"{table_name}.{column}"] = conn.scalar(
                sa.text(f"SELECT count(*) FROM {table_name} WHERE {column} = :id"),
                {"id": execution_id},
            )
    return found


def _execution_columns(engine: sa.Engine) -> list[tuple[str, str]]:
    """Every ``(table, column)`` of the live database that names an execution: a column
    called ``execution_id``, or one with a foreign key to ``executions.id``."""
    inspector = sa.inspect(engine)
    columns = set()
    for table_name in inspector.get_table_names():
        for column in inspector.get_columns(table_name):
            if column["name"] == "execution_id":
                columns.add((table_name, column["name"]))
        for key in inspector.get_foreign_keys(table_name):
            if key["referred_table"] == "executions":
                columns.update((table_name, c) for c in key["constrained_columns"])
    return sorted(columns)


def test_every_table_naming_an_execution_is_covered_by_the_one_deletion_function(
    store: Store,
) -> None:
    """Add a table with an execution_id column (or a reference to executions.id) and this
    fails until it is in runtree.store.retention.EXECUTION_DATA."""
    covered = {(part.table.name, part.column) for part in EXECUTION_DATA}
    live = set(_execution_columns(store.engine))
    assert live, "the inspection found nothing: it is broken"
    assert live - covered == set(), "add these to EXECUTION_DATA (runtree.store.retention)"
    # ... and in the ORM's metadata too (a table only in a migration, or only in schema.py).
    for orm_table in Base.metadata.tables.values():
        for column in orm_table.columns:
            named = column.name == "execution_id" or any(
                key.column.table.name == "executions" for key in column.foreign_keys
            )
            if named:
                assert (orm_table.name, column.name) in covered


def _with_everything(store: Store) -> tuple[ExecutionRecord, ExecutionRecord]:
    """A running execution with rows in the per-execution tables (steps, payloads, private
    input, idempotency key, delivery; a replay is added by the test), and a bystander."""
    version = deploy(store, "job")
    bystander = run(store, version, steps=2)
    webhook = store.create_webhook(
        path="hook",
        namespace="default",
        name="job",
        version=None,
        verify="none",
        secret=None,
        mode="async",
        sync_timeout_s=10.0,
        created_by=None,
    )
    spec = RunSpec(
        version=version,
        input={"token": "[redacted]"},
        private_input={"token": "t"},
        versions={"job": 1},
        trigger=Trigger.WEBHOOK,
    )
    data = DeliveryData(
        path="hook", method="POST", query_string="", headers=[], body=b"{}", body_size=2
    )
    _, hooked, _ = store.accept_delivery(
        webhook.id, data, "key-1", spec, datetime.timedelta(hours=24)
    )
    store.claim_execution(hooked.id, "w")
    large = b"\x80\x05" + b"x" * 300  # kept in a step_payloads row; small values are inline
    store.save_steps(
        hooked.id,
        [make_step(1), make_step(2, parent_id=1, inputs={"big": captured("x", large)})],
    )
    store.worlds.save_world(hooked.id, recording={"http": [], "clock": [], "random": []})
    return hooked, bystander


def _fts_documents(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.scalar(sa.text("SELECT count(*) FROM execution_input_fts")) or 0)


def test_delete_execution_data_leaves_nothing_of_the_execution(store: Store) -> None:
    hooked, bystander = _with_everything(store)
    version = store.get_version("default", "job")
    assert version is not None
    replay = run(store, version, replay_of=hooked.id)
    before = counts(store, hooked.id)
    assert before["steps.execution_id"] == 2 and before["step_payloads.execution_id"] == 1
    if store.is_sqlite:  # the input search's side table (and, by trigger, its document)
        assert before["execution_search_rows.execution_id"] == 1
        fts_before = _fts_documents(store)
    assert before["execution_private_inputs.execution_id"] == 1
    assert before["execution_worlds.execution_id"] == 1
    assert before["webhook_deliveries.execution_id"] == 1
    assert before["idempotency_keys.execution_id"] == 1
    assert before["executions.replay_of"] == 1
    bystander_before = counts(store, bystander.id)

    with store.engine.begin() as conn, sa.orm.Session(conn) as session:
        done = delete_execution_data(session, [hooked.id])
    assert done.done and done.executions == 1
    assert set(counts(store, hooked.id).values()) == {0}
    assert store.get_execution(hooked.id) is None
    if store.is_sqlite:
        assert _fts_documents(store) == fts_before - 1
    # Rows with a life of their own stay, detached: the delivery, the replay.
    assert store.list_deliveries(path="hook")[0][0].execution_id is None
    kept = store.get_execution(replay.id)
    assert kept is not None and kept.replay_of is None
    assert counts(store, bystander.id) == bystander_before


def test_a_row_budget_spreads_the_deletion_over_transactions(store: Store) -> None:
    version = deploy(store, "job")
    big = run(store, version, steps=25, private={"token": "t"})
    rounds = 0
    while True:
        rounds += 1
        with store.engine.begin() as conn, sa.orm.Session(conn) as session:
            result = delete_execution_data(session, [big.id], max_rows=10)
        assert result.rows <= 10
        if result.done:
            break
        assert store.get_execution(big.id) is not None  # the execution goes last
    assert rounds >= 5  # 25 steps + 25 payloads + a private input, 10 rows at a time
    assert set(counts(store, big.id).values()) == {0}


def test_keep_last_per_function_and_the_most_specific_policy(store: Store) -> None:
    a = deploy(store, "a")
    b = deploy(store, "b")
    other = deploy(store, "c", namespace="shop")
    runs_a = [run(store, a) for _ in range(5)]
    runs_b = [run(store, b) for _ in range(5)]
    runs_c = [run(store, other) for _ in range(3)]
    set_policy(store, ADMIN, parse_target("default"), keep_days=None, keep_last=2)
    set_policy(store, ADMIN, parse_target("default/b"), keep_days=None, keep_last=None)

    plan = prune(store, ADMIN, dry_run=True)
    assert [(f["function"], f["executions"], f["steps"]) for f in plan["functions"]] == [
        ("a", 3, 9)
    ]
    assert plan["functions"][0]["payload_bytes"] == 9 * 3  # one 3-byte blob per step
    assert all(store.get_execution(r.id) for r in runs_a)  # a dry run deletes nothing

    done = prune(store, ADMIN)
    assert done["totals"]["executions"] == 3 and done["totals"]["steps"] == 9
    assert [r.id for r in runs_a if store.get_execution(r.id)] == [r.id for r in runs_a[-2:]]
    assert all(store.get_execution(r.id) for r in runs_b + runs_c)  # keep-all override; no policy
    assert prune(store, ADMIN, dry_run=True)["functions"] == []
    entry = store.list_audit(action="retention.prune")[0][0]
    assert entry.details["executions"] == 3


def test_keep_days_and_pending_work_are_never_pruned(store: Store) -> None:
    version = deploy(store, "job")
    finished = run(store, version)
    queued = run(store, version, finish=False)
    running = run(store, version, finish=False)
    store.claim_execution(running.id, "w")
    original = run(store, version)
    run(store, version, replay_of=original.id, finish=False)  # a pending replay
    # A pending deterministic replay of a replay: it needs the recording of the first run.
    recorded = run(store, version)
    store.worlds.save_world(recorded.id, recording={"http": [], "clock": [], "random": []})
    middle = run(store, version, replay_of=recorded.id)
    store.enqueue_spec(
        RunSpec(
            version=version,
            input={},
            versions={"job": 1},
            trigger=Trigger.REPLAY,
            replay_of=middle.id,
            replay_world=recorded.id,
        )
    )
    set_policy(store, ADMIN, Target(RetentionKind.EXECUTIONS), keep_days=30, keep_last=None)

    assert prune(store, ADMIN, dry_run=True)["functions"] == []  # nothing is 30 days old
    report = prune(store, ADMIN, now=datetime.datetime.now(datetime.UTC) + LATER)
    assert report["totals"]["executions"] == 1
    assert store.get_execution(finished.id) is None
    for kept in (queued, running, original, recorded, middle):
        assert store.get_execution(kept.id) is not None


def test_deliveries_and_audit_entries_have_their_own_periods(store: Store) -> None:
    hooked, _ = _with_everything(store)
    set_policy(store, ADMIN, Target(RetentionKind.AUDIT), keep_days=400, keep_last=None)
    set_policy(store, ADMIN, Target(RetentionKind.DELIVERIES), keep_days=30, keep_last=None)
    later = datetime.datetime.now(datetime.UTC) + LATER
    # A delivery whose execution has not finished is kept, whatever its age.
    assert prune(store, ADMIN, dry_run=True, now=later)["deliveries"]["count"] == 0
    store.finish_execution(hooked.id, status="succeeded")
    plan = prune(store, ADMIN, dry_run=True, now=later)
    assert plan["deliveries"] == {"keep_days": 30, "count": 1, "body_bytes": 2}
    assert plan["audit"] == {"keep_days": 400, "count": 0}
    prune(store, ADMIN, now=later)
    assert store.list_deliveries(path="hook")[0] == []
    assert store.get_execution(hooked.id) is not None  # no executions policy: kept
    audit_count = len(store.list_audit(limit=1000)[0])
    report = prune(store, ADMIN, now=later + datetime.timedelta(days=400))
    assert report["audit"]["count"] == audit_count
    assert [e.action for e in store.list_audit()[0]] == ["retention.prune"]


def test_policies_are_checked_audited_and_admin_only(store: Store) -> None:
    with pytest.raises(InvalidRetention) as error:
        set_policy(store, ADMIN, parse_target("shop"), keep_days=0, keep_last=None)
    assert error.value.field == "keep_days"
    with pytest.raises(InvalidRetention) as error:
        parse_target("not a namespace")
    assert error.value.field == "target"
    with pytest.raises(InvalidRetention) as error:
        set_policy(store, ADMIN, Target(RetentionKind.AUDIT), keep_days=10, keep_last=5)
    assert error.value.field == "keep_last"
    set_policy(store, ADMIN, Target(RetentionKind.AUDIT), keep_days=365, keep_last=None)
    with pytest.raises(InvalidRetention, match="kept longest"):
        set_policy(store, ADMIN, parse_target("shop"), keep_days=400, keep_last=None)
    set_policy(store, ADMIN, parse_target("shop"), keep_days=90, keep_last=None)
    with pytest.raises(InvalidRetention, match="kept longest"):
        set_policy(store, ADMIN, Target(RetentionKind.AUDIT), keep_days=60, keep_last=None)
    developer = Principal(role=Role.DEVELOPER, namespace=None, actor="dev")
    with pytest.raises(Forbidden):
        set_policy(store, developer, parse_target("shop"), keep_days=1, keep_last=None)
    with pytest.raises(Forbidden):
        prune(store, developer, dry_run=True)
    with pytest.raises(NotFoundError):
        remove_policy(store, ADMIN, parse_target("nowhere"))
    removed = remove_policy(store, ADMIN, parse_target("shop"))
    assert removed.keep_days == 90
    assert [p.target for p in store.retention.list_policies()] == ["audit"]
    actions = [e.action for e in store.list_audit()[0]]
    assert actions == ["retention.unset", "retention.set", "retention.set"]


def test_storage_sizes_per_namespace_and_function(store: Store) -> None:
    a = deploy(store, "a")
    shop = deploy(store, "b", namespace="shop")
    run(store, a, steps=4)
    run(store, a, steps=2)
    run(store, shop, steps=1)
    set_policy(store, ADMIN, parse_target("shop/b"), keep_days=7, keep_last=10)
    document = storage(store, ADMIN)
    by_namespace = {n["namespace"]: n for n in document["namespaces"]}
    assert by_namespace["default"]["executions"] == 2
    assert by_namespace["default"]["steps"] == 6
    assert by_namespace["default"]["payload_bytes"] == 18
    (function,) = by_namespace["shop"]["functions"]
    assert function == {
        "function": "b",
        "executions": 1,
        "steps": 1,
        "payload_bytes": 3,
        "policy": "shop/b",
        "keep_days": 7,
        "keep_last": 10,
    }
    assert document["database"]["size_bytes"] > 0


def _sqlite_file_size(path: Path) -> int:
    return os.path.getsize(path) + (
        os.path.getsize(f"{path}-wal") if os.path.exists(f"{path}-wal") else 0
    )


def test_sqlite_gives_pruned_space_back_to_the_file_system(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    with Store(f"sqlite:///{path}") as store:
        version = deploy(store, "job")
        blob = os.urandom(4000)
        for _ in range(30):
            execution = store.enqueue_execution(
                version=version, trigger="api", input={}, versions={"job": 1}
            )
            store.claim_execution(execution.id, "w")
            steps = [make_step(1)] + [
                make_step(i, parent_id=1, inputs={"x": _blob(blob)}) for i in range(2, 40)
            ]
            store.finish_execution(execution.id, status="succeeded", steps=steps)
        grown = store.retention.file_space()
        assert grown is not None and grown.auto_vacuum == "incremental"
        set_policy(store, ADMIN, parse_target("default"), keep_days=None, keep_last=1)
        report = prune(store, ADMIN)
        after = store.retention.file_space()
        assert after is not None
    assert report["totals"]["executions"] == 29
    assert report["reclaimed_bytes"] > 29 * 38 * 4000 * 0.9
    assert after.size_bytes < grown.size_bytes / 5
    assert after.free_bytes < 1024 * 1024


def _blob(blob: bytes) -> dict[str, Any]:
    return {
        "preview": "…",
        "size": len(blob),
        "format": "pickle",
        "truncated": False,
        "redacted": False,
        "blob": blob,
    }


def test_an_older_sqlite_database_is_switched_by_one_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # created without auto_vacuum, as runtree once did
        conn.execute("CREATE TABLE placeholder (x)")
    conn.close()
    with Store(f"sqlite:///{path}") as store:
        space = store.retention.file_space()
        assert space is not None and space.auto_vacuum == "none"
        assert storage(store, ADMIN)["database"]["auto_vacuum"] == "none"
        document = storage(store, ADMIN, vacuum=True)
        assert document["database"]["auto_vacuum"] == "incremental"
        assert store.list_audit(action="retention.vacuum")[0]
