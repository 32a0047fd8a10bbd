"""The job queue on PostgreSQL: a job exists exactly while its execution is queued, written
in the same transaction; lost workers' jobs are settled exactly once."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from sqlalchemy import text

from runtree import service
from runtree.models import ExecutionStatus
from runtree.store import Store
from runtree.store import executions as store_executions
from runtree.store.common import utcnow

pytestmark = pytest.mark.postgres

SOURCE = "def f(x=0):\n    return x\n"


def jobs(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, status::text AS status, queue_name, lock, attempts, scheduled_at "
                "FROM procrastinate_jobs ORDER BY id"
            )
        ).mappings()
        return [dict(row) for row in rows]


def fetch(store: Store, *, heartbeat_age_s: float = 0.0) -> tuple[int, int]:
    """Take the next job as a Procrastinate worker would: ``(job id, worker id)``."""
    with store.engine.begin() as conn:
        worker = conn.execute(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - make_interval(secs => :age)) RETURNING id"
            ),
            {"age": heartbeat_age_s},
        ).scalar_one()
        job = conn.execute(
            text("SELECT id FROM procrastinate_fetch_job_v2(NULL, :worker)"), {"worker": worker}
        ).scalar_one()
    return int(job), int(worker)


def test_every_start_defers_its_job_in_the_same_transaction(pg_url: str) -> None:
    with Store(pg_url) as store:
        service.deploy(store, "default", "f", SOURCE)
        service.deploy(
            store,
            "default",
            "g",
            SOURCE.replace("f(", "g("),
            settings=service.make_settings(queue="batch"),
        )
        first = service.start_execution(store, "default", "f", {"x": 1})
        second = service.start_execution(store, "default", "g", {"x": 2})
        assert [(j["lock"], j["queue_name"], j["status"]) for j in jobs(store)] == [
            (first.id, "default", "todo"),
            (second.id, "batch", "todo"),
        ]

        # A transaction that fails after queueing leaves neither the execution nor its job.
        version = store.require_version("default", "f")

        def queue_then_fail(session: Any) -> None:
            store_executions.enqueue_execution(
                session,
                version=version,
                trigger="api",
                input={},
                versions={"f": 1},
                replay_of=None,
                now=utcnow(),
            )
            raise RuntimeError("after the insert")

        with pytest.raises(RuntimeError):
            store._db.write(queue_then_fail)
        assert len(jobs(store)) == 2
        assert store.count_queued() == 2

        # Cancelling a queued execution deletes its job with it.
        service.cancel_execution(store, second.id)
        assert [j["lock"] for j in jobs(store)] == [first.id]
        # The CLI running an execution itself (claiming it directly) takes its job away.
        assert store.claim_execution(first.id, "cli:host:1") is not None
        assert jobs(store) == []


def test_a_worker_claims_only_through_its_job_and_a_cancel_aborts_the_job(pg_url: str) -> None:
    with Store(pg_url) as store:
        service.deploy(store, "default", "f", SOURCE)
        execution = service.start_execution(store, "default", "f", {})
        job_id, _ = fetch(store)
        claimed = store.claim_execution(execution.id, "worker:host:1", from_job=True)
        assert claimed is not None and claimed.status == ExecutionStatus.RUNNING
        assert [j["status"] for j in jobs(store)] == ["doing"]  # its worker's job stays
        service.cancel_execution(store, execution.id)
        with store.engine.connect() as conn:
            aborted = conn.execute(
                text("SELECT abort_requested FROM procrastinate_jobs WHERE id = :id"),
                {"id": job_id},
            ).scalar_one()
        assert aborted is True  # Procrastinate NOTIFYs the worker running it


def test_the_job_of_a_lost_worker_ends_its_execution_crashed_once(pg_url: str) -> None:
    with Store(pg_url) as store:
        service.deploy(store, "default", "f", SOURCE)
        execution = service.start_execution(store, "default", "f", {})
        job_id, _ = fetch(store, heartbeat_age_s=3600)
        store.claim_execution(execution.id, "worker:gone:1", from_job=True)
        assert store.settle_lost_job(job_id, backoff_s=0) == "crashed"
        assert store.settle_lost_job(job_id, backoff_s=0) == "gone"  # settled once
        record = store.get_execution(execution.id)
        assert record is not None and record.status == ExecutionStatus.CRASHED
        assert record.error is not None and record.error["type"] == "WorkerLost"
        assert jobs(store) == []


def test_a_lost_execution_is_retried_with_backoff_when_its_version_allows(pg_url: str) -> None:
    with Store(pg_url) as store:
        service.deploy(store, "default", "f", SOURCE, settings=service.make_settings(retries=1))
        execution = service.start_execution(store, "default", "f", {})
        job_id, _ = fetch(store, heartbeat_age_s=3600)
        store.claim_execution(execution.id, "worker:gone:1", from_job=True)
        store.save_steps(
            execution.id,
            [
                {
                    "id": 1,
                    "parent_id": None,
                    "sequence": 1,
                    "depth": 0,
                    "name": "f",
                    "status": "running",
                    "started_at_ns": 1,
                }
            ],
        )
        before = utcnow()
        assert store.settle_lost_job(job_id, backoff_s=10) == "retried"
        record = store.get_execution(execution.id)
        assert record is not None and record.status == ExecutionStatus.QUEUED
        assert record.worker_id is None and store.get_steps(execution.id) == []
        (job,) = jobs(store)
        assert job["id"] == job_id and job["status"] == "todo" and job["attempts"] == 1
        assert job["scheduled_at"] >= before + datetime.timedelta(seconds=9)
        # Lost a second time: no retry left.
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE procrastinate_jobs SET scheduled_at = NULL"))
        job_id, _ = fetch(store, heartbeat_age_s=3600)
        store.claim_execution(execution.id, "worker:gone:2", from_job=True)
        assert store.settle_lost_job(job_id, backoff_s=10) == "crashed"


def test_lost_jobs_of_unstarted_and_finished_executions(pg_url: str) -> None:
    with Store(pg_url) as store:
        service.deploy(store, "default", "f", SOURCE)
        waiting = service.start_execution(store, "default", "f", {})
        job_id, _ = fetch(store, heartbeat_age_s=3600)
        assert store.settle_lost_job(job_id, backoff_s=0) == "queued"  # never claimed
        assert [j["status"] for j in jobs(store)] == ["todo"]
        job_id, _ = fetch(store, heartbeat_age_s=3600)
        store.claim_execution(waiting.id, "worker:gone:1", from_job=True)
        store.finish_execution(waiting.id, status="succeeded", output=1)
        assert store.settle_lost_job(job_id, backoff_s=0) == "finished"
        record = store.get_execution(waiting.id)
        assert record is not None and record.status == ExecutionStatus.SUCCEEDED
        assert jobs(store) == []
