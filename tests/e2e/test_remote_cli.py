"""A real ``runtree serve``: first start (admin key printed once, saved 0600), the CLI against
it with ``--server`` giving the same output as on the database, a signed delivery made with
curl and openssl as the README shows, and a schedule missed during downtime."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from runtree.cli import app
from runtree.store import Store
from runtree.store.schema import ScheduleRow

from .conftest import free_port

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "orders"


class Serve:
    """``runtree serve`` with its output in a file (read at will)."""

    def __init__(self, directory: Path, *extra: str) -> None:
        self.directory = directory
        self.database = f"sqlite:///{directory / 'runtree.db'}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / f"serve-{self.port}.log"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "COLUMNS": "200"}
        env.pop("RUNTREE_DATABASE_URL", None)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runtree",
                    "serve",
                    "--port",
                    str(self.port),
                    "--database",
                    self.database,
                    "--workers",
                    "1",
                    *self.extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"runtree serve did not start:\n{self.output}")

    @property
    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    made: list[Serve] = []

    def make(*extra: str) -> Serve:
        server = Serve(tmp_path, *extra)
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.stop()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": None, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_first_start_prints_the_admin_key_once_and_saves_it_0600(
    serve: Any, tmp_path: Path
) -> None:
    server = serve()
    key_file = tmp_path / "runtree.db.admin-key"
    key = key_file.read_text().strip()
    assert f"  {key}" in server.output and str(key_file) in server.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    api = f"{server.url}/api/v1"
    assert httpx.get(f"{api}/functions").status_code == 401
    assert (
        httpx.get(f"{api}/functions", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    server.stop()
    again = serve()
    assert key not in again.output and "created the first admin key" not in again.output
    assert key_file.read_text().strip() == key


def test_no_auth_serves_loopback_only(serve: Any) -> None:
    server = serve("--no-auth")
    assert httpx.get(f"{server.url}/api/v1/functions").status_code == 200
    assert "--no-auth" in server.output
    code, _, err = invoke("serve", "--no-auth", "--host", "0.0.0.0", "--port", "1")
    assert code == 2 and "loopback" in err


@pytest.mark.long
def test_the_cli_against_a_server_prints_what_it_prints_on_the_database(
    serve: Any, tmp_path: Path
) -> None:
    server = serve()
    database = server.database
    # No RUNTREE_API_KEY: for a loopback server the CLI reads the admin key file of the
    # database it would use.
    remote_env = {
        "RUNTREE_URL": server.url,
        "RUNTREE_DATABASE_URL": database,
        "RUNTREE_API_KEY": None,
    }

    def remote(*args: str) -> tuple[int, str, str]:
        return invoke(*args, env=remote_env)

    def local(*args: str) -> tuple[int, str, str]:
        return invoke("--database", database, *args, env={"RUNTREE_URL": None})

    code, deployed, _ = remote("deploy", str(EXAMPLES))
    assert code == 0 and "default/calculate_order_total: v1 (new)" in deployed
    assert "undefined name" not in deployed  # the batch's members are known to each other
    scratch = f"sqlite:///{tmp_path / 'scratch.db'}"
    assert invoke("--database", scratch, "deploy", str(EXAMPLES))[1] == deployed
    changed = tmp_path / "calculate_tax.py"
    changed.write_text((EXAMPLES / "calculate_tax.py").read_text() + "\n# v2\n")
    assert remote("deploy", str(changed))[1] == "default/calculate_tax: v2 (new)\n"

    code, ran, _ = remote("run", "calculate_order_total", "-a", "customer_id=42", "--json")
    assert code == 0
    ok = json.loads(ran)
    assert ok["status"] == "succeeded" and ok["trigger"] == "api"
    code, ran, _ = remote("run", "calculate_order_total", "-a", "customer_id=3", "--json")
    assert code == 1
    failed = json.loads(ran)
    code, _, err = remote("run", "calculate_order_total")
    assert code == 2 and "customer_id: missing required parameter" in err
    assert "expected: calculate_order_total(" in err
    code, _, err = remote("run", "calculate_ordr_total")
    assert code == 2 and "did you mean: default/calculate_order_total" in err
    remote("webhooks", "create", "calculate_order_total", "--path", "paid", "--verify", "github")
    remote(
        "schedules",
        "create",
        "calculate_tax",
        "--cron",
        "0 3 * * *",
        "--input",
        '{"amount": 1, "country": "NL"}',
    )
    remote("keys", "create", "--role", "viewer", "--name", "dash")

    for command in (
        ["functions"],
        ["functions", "--json"],
        ["versions", "calculate_tax"],
        ["versions", "calculate_tax", "--json"],
        ["diff", "calculate_tax", "1"],
        ["diff", "calculate_tax", "1", "2"],
        ["executions"],
        ["executions", "--json"],
        ["executions", "-f", "calculate_order_total", "-s", "failed"],
        ["show", ok["id"]],
        ["show", ok["id"][:10], "--json"],
        ["show", ok["id"], "--json"],
        ["show", failed["id"], "--json"],  # step errors: from_step null here, absent there
        ["show", failed["id"]],
        ["tree", ok["id"]],
        ["export", ok["id"]],
        ["export", ok["id"][:10], "--format", "speedscope"],
        ["export", ok["id"], "--format", "json"],
        ["export", failed["id"], "--format", "json"],
        ["export", failed["id"]],
        ["test-from", ok["id"]],
        ["test-from", ok["id"], "--live"],
        ["test-from", f"{failed['id'][:10]}:get_customer"],
        ["test-from", f"{ok['id']}:4"],  # nested: untestable, says which step to use
        ["test-from", f"{ok['id']}:99"],
        ["test-from", f"{ok['id']}:a b"],
        ["webhooks", "list"],
        ["webhooks", "list", "--json"],
        ["webhooks", "deliveries", "paid"],
        ["schedules", "list"],
        ["schedules", "show", "1"],
        ["schedules", "list", "--json"],
        ["keys", "list"],
        ["keys", "list", "--json"],
        ["audit", "--json"],
        ["audit"],
        ["show", "ffff"],
        ["versions", "nothing"],
    ):
        here, there = local(*command), remote(*command)
        assert here == there, f"runtree {' '.join(command)} differs:\n{here}\n---\n{there}"

    viewer_key, _ = remote("keys", "create", "--role", "viewer")[1:]
    as_viewer = {**remote_env, "RUNTREE_API_KEY": viewer_key.strip()}
    code, _, err = invoke("deploy", str(EXAMPLES), env=as_viewer)
    assert code == 2 and "developer role" in err
    code, out, _ = invoke("functions", env=as_viewer)
    assert code == 0 and "default/calculate_order_total" in out
    code, _, err = invoke("functions", env={**as_viewer, "RUNTREE_API_KEY": "rtk_nope"})
    assert code == 2 and "not valid" in err


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl"
)
def test_readme_signed_delivery_with_curl_and_openssl(serve: Any, tmp_path: Path) -> None:
    server = serve()
    env = {"RUNTREE_URL": server.url, "RUNTREE_DATABASE_URL": server.database}
    source = tmp_path / "order_paid.py"
    source.write_text(
        "def order_paid(order_id: int, amount: float):\n"
        "    return {'order': order_id, 'charged': amount}\n"
    )
    assert invoke("deploy", str(source), env=env)[0] == 0
    secret_env = {**env, "ORDER_SECRET": "s3cret-from-env"}
    assert (
        invoke(
            "webhooks",
            "create",
            "order_paid",
            "--path",
            "order-paid",
            "--verify",
            "hmac-sha256",
            "--secret-from-env",
            "ORDER_SECRET",
            "--mode",
            "sync",
            env=secret_env,
        )[0]
        == 0
    )
    # The README's example, as a shell script.
    script = f"""
set -eu
SECRET=s3cret-from-env
BODY='{{"order_id": 7, "amount": 19.5}}'
SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')
curl -s -X POST {server.url}/hooks/order-paid \\
     -H "X-Signature-256: sha256=$SIG" -H 'content-type: application/json' \\
     -H 'Idempotency-Key: order-7' --data-binary "$BODY"
"""
    first = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert json.loads(first.stdout) == {"order": 7, "charged": 19.5}, first
    again = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert json.loads(again.stdout) == {"order": 7, "charged": 19.5}
    tampered = subprocess.run(
        [
            "bash",
            "-c",
            script.replace('"amount": 19.5', '"amount": 0.5', 1).replace(
                '--data-binary "$BODY"', '--data-binary \'{"order_id": 7, "amount": 9}\''
            ),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(tampered.stdout)["status"] == 401
    _, listed, _ = invoke("webhooks", "deliveries", "order-paid", "--json", env=env)
    deliveries = json.loads(listed)
    assert [d["status"] for d in deliveries] == ["rejected", "duplicate", "accepted"]
    # Replayed through the server: the recorded request, as the API and the UI replay it.
    code, replayed, err = invoke("webhooks", "replay", deliveries[2]["id"], "--json", env=env)
    assert code == 0, err
    execution = json.loads(replayed)
    assert execution["trigger"] == "replay" and execution["output"] == {"order": 7, "charged": 19.5}
    assert execution["replay_of"] == deliveries[2]["execution_id"]
    code, _, err = invoke("webhooks", "replay", deliveries[0]["id"], env=env)
    assert code == 2 and "cannot be replayed" in err


def test_a_schedule_missed_during_downtime_runs_once_late(serve: Any, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'runtree.db'}"
    source = tmp_path / "tick.py"
    source.write_text("def tick(n: int):\n    return n\n")
    assert invoke("--database", database, "deploy", str(source))[0] == 0
    code, _, err = invoke(
        "--database",
        database,
        "schedules",
        "create",
        "tick",
        "--cron",
        "* * * * *",
        "--input",
        '{"n": 5}',
    )
    assert code == 0, err
    # The server was down for the last ten minutes: ten fire times passed.
    ten_minutes_ago = datetime.datetime.now(datetime.UTC).replace(
        second=0, microsecond=0
    ) - datetime.timedelta(minutes=10)
    with Store(database) as store, store.engine.begin() as conn:
        conn.execute(update(ScheduleRow).values(next_fire_at=ten_minutes_ago))
    server = serve()
    env = {"RUNTREE_URL": server.url, "RUNTREE_DATABASE_URL": database}
    deadline = time.monotonic() + 20
    while True:
        shown = json.loads(invoke("schedules", "show", "1", "--json", env=env)[1])
        if shown["fires"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    (fire,) = shown["fires"]
    assert fire["late"] and fire["missed"] >= 9
    runs = json.loads(invoke("executions", "--json", env=env)[1])
    assert [(r["trigger"], r["input"]) for r in runs] == [("schedule", {"n": 5})]
    assert "schedule 1 of default/tick" in invoke("audit", env=env)[1]
