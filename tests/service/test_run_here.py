"""Local runs (the CLI without a server) use the server's sandbox configuration (issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtree.execution.launcher import SpawnLauncher
from runtree.execution.sandbox.config import config_for
from runtree.service import deploy, run_here, start_execution
from runtree.service import executions as executions_module
from runtree.settings import Settings
from runtree.store import Store

pytestmark = pytest.mark.slow


def test_a_local_run_is_sandboxed_as_the_server_on_that_database_would_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "runtree.db"
    key_file = tmp_path / "admin-key"
    settings = Settings(database_url=f"sqlite:///{database}", admin_key_file=str(key_file))
    launchers: list[Any] = []

    class RecordingLauncher(SpawnLauncher):
        def __init__(self, sandbox: Any = None) -> None:
            launchers.append(sandbox)
            super().__init__(sandbox)

    monkeypatch.setattr(executions_module, "SpawnLauncher", RecordingLauncher)
    with Store(settings.database_url) as store:
        deploy(store, "default", "answer", "def answer():\n    return 42\n")
        execution = start_execution(store, "default", "answer")
        record = run_here(store, execution, "cli:here:1", settings=settings)
    assert (record.status, record.output) == ("succeeded", 42)
    (sandbox,) = launchers
    assert sandbox is not None and sandbox.config == config_for(settings)
    # The start-up probe checked that these stay unreadable to the run, as for the server.
    assert str(database.resolve()) in sandbox.config.secret_paths
    assert f"{database.resolve()}-wal" in sandbox.config.secret_paths
    assert str(key_file.resolve()) in sandbox.config.secret_paths
