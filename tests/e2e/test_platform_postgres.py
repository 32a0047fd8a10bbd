"""The platform on PostgreSQL: a real server and the CLI, end to end, like on SQLite."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Server
from tests.store.conftest import PostgresDatabases

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "orders"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    databases = PostgresDatabases()
    try:
        yield databases.create()
    finally:
        databases.drop_all()


def runtree(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtree", *args, "--database", database],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_deploy_run_show_on_postgres(postgres_url: str) -> None:
    deployed = runtree("deploy", str(EXAMPLES), database=postgres_url)
    assert deployed.returncode == 0, deployed.stderr
    assert "default/calculate_order_total: v1 (new)" in deployed.stdout
    ok = runtree(
        "run", "calculate_order_total", "-a", "customer_id=42", "--json", database=postgres_url
    )
    assert ok.returncode == 0, ok.stderr
    assert '"total": 108.9' in ok.stdout
    failed = runtree("run", "calculate_order_total", "-a", "customer_id=3", database=postgres_url)
    assert failed.returncode == 1
    assert "KeyError" in failed.stdout and "get_customer.py:10" in failed.stdout


def test_server_on_postgres(postgres_url: str) -> None:
    server = Server(postgres_url, workers=2, startup_timeout=120)
    server.start()
    try:
        with server.client() as client:
            for path in sorted(EXAMPLES.glob("*.py")):
                response = client.put(
                    f"/functions/default/{path.stem}", json={"code": path.read_text()}
                )
                assert response.status_code == 201, response.text
            run = client.post(
                "/functions/default/calculate_order_total/executions",
                json={"input": {"customer_id": 42}},
            )
            assert run.status_code == 200, run.text
            body: dict[str, Any] = run.json()
            assert body["status"] == "succeeded" and body["output"]["total"] == 108.9
            tree = client.get(f"/executions/{body['id']}/tree").text
            assert tree.splitlines()[0] == "Execution: calculate_order_total"
            assert "apply_promo_code" in tree
            detail = client.get(f"/executions/{body['id']}").json()
            names = [step["name"] for step in detail["steps"]]
            assert names[0] == "calculate_order_total" and "get_customer" in names
    finally:
        server.stop()
