"""Helpers of the fleet tests: `runtree worker` processes, each with a state directory of
its own as if on its own machine, and a claims log kept by a database trigger."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from runtree.store import Store

# Every change of an execution to `running` is logged: the test counts how often each was
# claimed (a claim is a start: "never run twice" means exactly one claim, or two when a
# lost worker's execution was retried).
CLAIMS_LOG = """
CREATE TABLE test_claims (execution_id text, worker_id text, at timestamptz DEFAULT now());
CREATE FUNCTION test_log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_claims (execution_id, worker_id) VALUES (NEW.id, NEW.worker_id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER test_log_claim AFTER UPDATE OF status ON executions FOR EACH ROW
    WHEN (NEW.status = 'running' AND OLD.status = 'queued') EXECUTE FUNCTION test_log_claim();
"""


def install_claims_log(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql(CLAIMS_LOG)


def claims(store: Store) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with store.engine.connect() as conn:
        for execution_id, worker_id in conn.execute(
            text("SELECT execution_id, worker_id FROM test_claims ORDER BY at")
        ):
            found.setdefault(execution_id, []).append(worker_id)
    return found


class WorkerProcess:
    """One `runtree worker`."""

    def __init__(
        self,
        database: str,
        directory: Path,
        *,
        slots: int = 2,
        heartbeat_s: float = 0.5,
        grace: float = 2.0,
        options: tuple[str, ...] = (),
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.log = directory / "worker.log"
        # Slot uids must reach their work directories: not under pytest's 0700 tmp_path.
        self.state = Path(tempfile.mkdtemp(prefix="runtree-fleet-", dir="/var/tmp"))
        self.state.chmod(0o711)
        env = {
            **os.environ,
            "RUNTREE_SANDBOX_DIR": str(self.state),
            "RUNTREE_HEARTBEAT_S": str(heartbeat_s),
        }
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runtree",
                    "worker",
                    "--database",
                    database,
                    "--slots",
                    str(slots),
                    "--grace",
                    str(grace),
                    *options,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        self.id = f"worker:{os.uname().nodename}:{self.process.pid}"

    def wait_registered(self, store: Store, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(w.id == self.id for w in store.list_workers(live_within_s=60)):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log.read_text()}")
            time.sleep(0.1)
        raise RuntimeError(f"worker did not register:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL the worker and its zygote (its whole session): the machine is gone."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        shutil.rmtree(self.state, ignore_errors=True)
