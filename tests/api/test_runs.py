"""End to end: real worker processes behind the API (``slow``: they fork workers)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.service import deploy as deploy_version
from runtree.service import start_execution
from runtree.settings import Settings
from runtree.store import Store

from .conftest import authorize_as_admin
from .helpers import API, EXAMPLES, deploy, deploy_examples, poll, run

pytestmark = pytest.mark.slow

SLEEPER = (
    "import time\n\n\n"
    "def warm_up():\n"
    "    return 'ready'\n\n\n"
    "def sleeper(seconds: float = 30):\n"
    "    warm_up()\n"
    "    time.sleep(seconds)\n"
    "    return 'woke'\n"
)


def test_orders_example_succeeds_with_its_tree(live: TestClient, namespace: str) -> None:
    deploy_examples(live, namespace)
    response = run(live, namespace, "calculate_order_total", input={"customer_id": 42})
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["status"] == "succeeded"
    assert execution["output"]["total"] == 108.9
    assert execution["error"] is None
    assert execution["versions"] == {
        "calculate_order_total": 1,
        "get_customer": 1,
        "calculate_discount": 1,
        "calculate_tax": 1,
    }

    tree = live.get(f"{API}/executions/{execution['id']}/tree")
    assert tree.status_code == 200
    lines = tree.text.splitlines()
    assert lines[0] == "Execution: calculate_order_total"
    assert lines[1].startswith("├─ Step: get_customer (completed")
    assert lines[2].startswith("├─ Step: calculate_discount (completed")
    assert lines[3].startswith("│  └─ Step: apply_promo_code (completed")
    assert lines[4].startswith("└─ Step: calculate_tax (completed")

    detail = live.get(f"{API}/executions/{execution['id']}").json()
    steps = {step["id"]: step for step in detail["steps"]}
    root = next(s for s in steps.values() if s["parent_id"] is None)
    assert root["name"] == "calculate_order_total"
    assert root["inputs"]["customer_id"]["preview"] == 42
    assert root["stdout"] == "order total for Ada: 108.9\n"
    by_name = {s["name"].rsplit(".", 1)[-1]: s for s in steps.values()}
    assert by_name["get_customer"]["parent_id"] == root["id"]
    assert by_name["get_customer"]["function"] == f"{namespace}/get_customer"
    assert by_name["apply_promo_code"]["parent_id"] == by_name["calculate_discount"]["id"]
    assert by_name["calculate_tax"]["output"]["preview"] == 18.9
    assert "blob" not in detail["steps"][0]["inputs"]["customer_id"]

    function = live.get(f"{API}/functions/{namespace}/calculate_order_total").json()
    assert function["run_count"] == 1 and function["last_status"] == "succeeded"


def test_failing_run_points_at_the_raise(live: TestClient, namespace: str) -> None:
    deploy_examples(live, namespace)
    response = run(live, namespace, "calculate_order_total", input={"customer_id": 3})
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["status"] == "failed"
    error = execution["error"]
    assert error["type"] == "KeyError"
    assert "no customer with id 3" in error["message"]
    raise_line = next(
        number
        for number, line in enumerate((EXAMPLES / "get_customer.py").read_text().splitlines(), 1)
        if line.strip().startswith("raise KeyError")
    )
    last = error["traceback"][-1]
    assert (last["filename"], last["lineno"]) == (f"{namespace}/get_customer.py", raise_line)
    assert last["line"].startswith("raise KeyError")

    steps = live.get(f"{API}/executions/{execution['id']}").json()["steps"]
    failed = [s for s in steps if s["status"] == "failed"]
    assert [s["name"] for s in failed] == ["calculate_order_total", "get_customer"]
    assert failed[1]["error"]["type"] == "KeyError"
    tree = live.get(f"{API}/executions/{execution['id']}/tree").text
    assert "└─ Step: get_customer (failed" in tree


def test_no_wait_then_poll_to_the_end(live: TestClient, namespace: str) -> None:
    deploy_examples(live, namespace)
    response = run(live, namespace, "calculate_order_total", input={"customer_id": 7}, wait=False)
    assert response.status_code == 202
    assert response.json()["status"] in ("queued", "running", "succeeded")
    execution = poll(live, response.json()["id"], lambda e: e["finished_at"] is not None)
    assert execution["status"] == "succeeded"
    assert execution["output"]["customer"] == "Linus"
    assert len(execution["steps"]) == 4  # no promo code: no apply_promo_code step


def test_cancel_a_running_execution(live: TestClient, namespace: str) -> None:
    deploy(live, namespace, "sleeper", SLEEPER)
    execution_id = run(live, namespace, "sleeper", wait=False).json()["id"]
    poll(live, execution_id, lambda e: any(s["name"] == "warm_up" for s in e["steps"]))
    started = time.monotonic()
    response = live.post(f"{API}/executions/{execution_id}/cancel")
    assert response.status_code in (200, 202)
    execution = poll(live, execution_id, lambda e: e["finished_at"] is not None)
    assert time.monotonic() - started < 5
    assert execution["status"] == "cancelled"
    assert execution["cancel_requested"] is True
    statuses = {s["name"]: s["status"] for s in execution["steps"]}
    assert statuses == {"sleeper": "interrupted", "warm_up": "completed"}


def test_time_limit_keeps_the_partial_tree(live: TestClient, namespace: str) -> None:
    deploy(live, namespace, "sleeper", SLEEPER, timeout_s=1)
    started = time.monotonic()
    response = run(live, namespace, "sleeper", input={"seconds": 30})
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 10
    execution = response.json()
    assert execution["status"] == "timed_out"
    assert execution["error"]["type"] == "TimeoutError"
    steps = live.get(f"{API}/executions/{execution['id']}").json()["steps"]
    statuses = {s["name"]: s["status"] for s in steps}
    assert statuses == {"sleeper": "interrupted", "warm_up": "completed"}
    tree = live.get(f"{API}/executions/{execution['id']}/tree").text
    assert "Step: warm_up (completed" in tree


def test_worker_that_exits_is_crashed(live: TestClient, namespace: str) -> None:
    code = "import os\n\n\ndef crash():\n    print('going')\n    os._exit(3)\n"
    deploy(live, namespace, "crash", code)
    response = run(live, namespace, "crash")
    assert response.status_code == 200, response.text
    execution = response.json()
    assert execution["status"] == "crashed"
    assert "code 3" in execution["error"]["message"]


def test_pinned_version_runs(live: TestClient, namespace: str) -> None:
    deploy(live, namespace, "answer", "def answer():\n    return 41\n")
    deploy(live, namespace, "answer", "def answer():\n    return 42\n")
    assert run(live, namespace, "answer").json()["output"] == 42
    pinned = run(live, namespace, "answer", version=1).json()
    assert (pinned["output"], pinned["version"]) == (41, 1)


def test_start_up_recovers_and_shut_down_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/recover.db"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a server process that died while running an execution
    with Store(url) as store:
        deploy_version(store, "default", "answer", "def answer():\n    return 42\n")
        interrupted = start_execution(store, "default", "answer")
        store.claim_execution(interrupted.id, f"server:{socket.gethostname()}:{gone.pid}")
        waiting = start_execution(store, "default", "answer")

    settings = Settings(database_url=url, workers=1)
    app = create_app(settings)
    with TestClient(app) as client:
        authorize_as_admin(client, settings)
        crashed = client.get(f"{API}/executions/{interrupted.id}").json()
        assert crashed["status"] == "crashed"
        assert crashed["error"]["type"] == "Crashed"
        finished = poll(client, waiting.id, lambda e: e["finished_at"] is not None)
        assert (finished["status"], finished["output"]) == ("succeeded", 42)
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.closers == []  # dispatcher stopped, launcher and store closed
