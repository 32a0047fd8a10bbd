"""A `runtree worker` whose connection drops in the middle of a job's claim (issue 17: "a
queued execution is never lost or run twice"; a PostgreSQL restart can land there): the
claim is made again, and the execution runs once and ends once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from runtree import service
from runtree.models import ExecutionStatus
from runtree.store import Store

from .fleet import WorkerProcess, claims, install_claims_log
from .test_fleet import wait_all_ended

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SOURCE = "def f(n):\n    return n * 2\n"

# The first claim's backend terminates itself while running the claim (its statement is
# rolled back; the sequence, outside transactions, says it happened and keeps it to once).
CUT_FIRST_CLAIM = """
CREATE SEQUENCE test_cuts;
CREATE FUNCTION test_cut_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('test_cuts') = 1 THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
        PERFORM pg_sleep(5);  -- the termination lands here
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER test_cut_claim BEFORE UPDATE OF status ON executions FOR EACH ROW
    WHEN (NEW.status = 'running' AND OLD.status = 'queued') EXECUTE FUNCTION test_cut_claim();
"""


def test_a_claim_cut_by_the_database_is_made_again_and_the_execution_runs_once(
    pg_url: str, tmp_path: Path
) -> None:
    store = Store(pg_url)
    install_claims_log(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(CUT_FIRST_CLAIM)
    service.deploy(store, "default", "f", SOURCE)
    worker = WorkerProcess(pg_url, tmp_path / "w", slots=1)
    try:
        worker.wait_registered(store, timeout=120)
        execution_id = service.start_execution(store, "default", "f", {"n": 21}).id
        ended = wait_all_ended(store, [execution_id], timeout=90)[execution_id]
        with store.engine.connect() as conn:
            cuts = conn.execute(text("SELECT last_value FROM test_cuts")).scalar()
        assert cuts == 2, "the first claim was not cut, or no second claim was made"
        assert ended.status == ExecutionStatus.SUCCEEDED, (ended, worker.log.read_text())
        assert ended.output == 42 and ended.worker_id == worker.id
        assert claims(store) == {execution_id: [worker.id]}  # claimed (so run) once
    finally:
        worker.stop()
        store.close()
