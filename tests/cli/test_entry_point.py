"""The installed entry point in real processes: exit codes through ``main()``, plain output
on pipes, and ``runtree serve`` running queued executions and stopping cleanly on Ctrl-C."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import selectors
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from .conftest import ANSI, EXAMPLES

MAIN = [sys.executable, "-c", "from runtree.cli import main; main()"]


def runtree(*args: str, db_url: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNTREE_DATABASE_URL": db_url, "TERM": "xterm-256color"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [*MAIN, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


@pytest.mark.slow
def test_main_exit_codes_and_plain_output(tmp_path: pathlib.Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'runtree.db'}"
    deployed = runtree("deploy", str(EXAMPLES), db_url=db_url, cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr
    ok = runtree(
        "run", "calculate_order_total", "-a", "customer_id=42", db_url=db_url, cwd=tmp_path
    )
    failed = runtree(
        "run", "calculate_order_total", "-a", "customer_id=3", db_url=db_url, cwd=tmp_path
    )
    usage = runtree("run", "calculate_order_total", db_url=db_url, cwd=tmp_path)
    unknown_option = runtree("run", "--frobnicate", db_url=db_url, cwd=tmp_path)
    assert (ok.returncode, failed.returncode, usage.returncode) == (0, 1, 2)
    assert unknown_option.returncode == 2
    for result in (deployed, ok, failed, usage, unknown_option):
        assert not ANSI.search(result.stdout + result.stderr)
        assert "Traceback" not in result.stderr
    assert "Execution: calculate_order_total" in ok.stdout
    assert "customer_id: missing required parameter" in usage.stderr
    version = runtree("--version", db_url=db_url, cwd=tmp_path)
    assert version.stdout.strip() == "runtree 0.1.0"


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout):
        raise AssertionError("no output from runtree serve")
    return process.stdout.readline()


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("runtree.api.app") is None, reason="runtree.api is not built yet"
)
def test_serve_runs_queued_executions_and_stops_on_ctrl_c(tmp_path: pathlib.Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'runtree.db'}"
    assert runtree("deploy", str(EXAMPLES), db_url=db_url, cwd=tmp_path).returncode == 0
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("RUNTREE_DATABASE_URL", None)
    process = subprocess.Popen(
        [*MAIN, "serve", "--port", "0", "--workers", "1", "--database", db_url, "--metrics-public"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        line = _read_line(process, timeout=30)
        # The first start on a database creates the admin key and prints it once.
        assert line.startswith("created the first admin key"), line
        key = _read_line(process, timeout=30).strip()
        assert (tmp_path / "runtree.db.admin-key").read_text().strip() == key
        line = _read_line(process, timeout=30)
        found = re.fullmatch(
            r"runtree listening on (http://127\.0\.0\.1:(\d+)) \(database (.*), 1 worker\)\n",
            line,
        )
        assert found, line
        assert found.group(3) == db_url
        base = found.group(1)
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            assert json.load(response)["status"] == "ok"

        queued = runtree(
            "run",
            "calculate_order_total",
            "-a",
            "customer_id=42",
            "--no-wait",
            db_url=db_url,
            cwd=tmp_path,
        )
        execution_id = queued.stdout.strip()
        deadline = time.monotonic() + 30
        status = "queued"
        while status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
            shown = runtree("show", execution_id, "--json", db_url=db_url, cwd=tmp_path)
            status = json.loads(shown.stdout)["status"]
        assert status == "succeeded"
        # --metrics-public: the server's metrics without a key, counting the run it made.
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        ended = (
            'runtree_executions_ended_total{function="calculate_order_total",'
            'namespace="default",status="succeeded"} 1.0'
        )
        assert ended in metrics.splitlines(), metrics
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "runtree stopped" in stderr
