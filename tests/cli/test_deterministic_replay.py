"""Deterministic replay (README, "Deterministic replay"): a run that called an HTTP server,
read the clock and drew random numbers is recorded; with the server gone, `runtree replay
--deterministic` reproduces its failure, tree and values; a fixed version succeeds on the
same recording; a version that asks for a new URL reports the divergence.

The functions run unsandboxed here (RUNTREE_SANDBOX=off): the sandbox's egress firewall
refuses every address of this host, and the server the test starts listens on loopback.
tests/sandbox/test_deterministic_replay.py runs the same story with the sandbox on, against
a server in a network namespace that test creates.
"""

from __future__ import annotations

import http.server
import json
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from runtree.execution.world.reach import LOCAL, reach
from runtree.store import Store

from .conftest import Cli

ORDERS = {"7": {"amount": 10.0, "tax_rate": None}, "8": {"amount": 10.0, "tax_rate": 0.2}}

CHARGE = """\
import datetime
import random
import time
import uuid

import requests

BASE = "http://127.0.0.1:PORT"


def fetch_order(order_id):
    response = requests.get(
        f"{BASE}/orders/{order_id}", headers={"Authorization": "Bearer s3cret-token"}
    )
    return response.json()


def charge(order_id: int):
    order = fetch_order(order_id)
    stamp = datetime.datetime.now().isoformat()
    ticket = f"{random.randint(1000, 9999)}-{uuid.uuid4()}"
    TAX
    total = order["amount"] * (1 + rate)
    return {"order": order_id, "total": round(total, 2), "at": stamp, "ticket": ticket,
            "t": time.time()}
"""
BROKEN = 'rate = order["tax_rate"]  # null for some orders: TypeError'
FIXED = 'rate = order["tax_rate"] or 0'
NEW_URL = 'rate = requests.get(f"{BASE}/rates/{order_id}").json()["rate"]'

ASYNC = """\
import random
import time

import httpx


async def quote(order_id: int):
    async with httpx.AsyncClient() as client:
        response = await client.get("http://127.0.0.1:{port}/orders/" + str(order_id))
    order = response.json()
    return {{"order": order, "noise": random.random(), "t": time.time_ns()}}
"""


class _Orders(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        order = ORDERS.get(self.path.rsplit("/", 1)[-1])
        body = json.dumps(order).encode()
        self.send_response(200 if order is not None else 404)
        self.send_header("content-type", "application/json")
        self.send_header("set-cookie", "session=abc123")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def partner() -> Iterator[http.server.HTTPServer]:
    """The partner API: an HTTP server on loopback (port chosen by the OS)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Orders)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _unsandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTREE_SANDBOX", "off")


def _deploy(cli: Cli, tmp_path: pathlib.Path, name: str, source: str) -> None:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    deployed = cli("deploy", str(path), "--network")
    assert deployed.exit_code == 0, deployed


def _run_json(cli: Cli, *args: str) -> dict[str, Any]:
    outcome = cli(*args, "--json")
    assert outcome.exit_code in (0, 1), outcome
    document: dict[str, Any] = json.loads(outcome.stdout)
    return document


def _shape(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (s["name"].split(" ", 1)[0], s["status"], s.get("kind", "call"), s["depth"])
        for s in document["steps"]
    ]


def test_a_failure_replays_exactly_then_a_fix_succeeds_and_a_new_url_diverges(
    cli: Cli, tmp_path: pathlib.Path, partner: http.server.HTTPServer, db_url: str
) -> None:
    port = partner.server_address[1]
    source = CHARGE.replace("PORT", str(port))
    _deploy(cli, tmp_path, "charge", source.replace("TAX", BROKEN))
    original = _run_json(cli, "run", "charge", "-a", "order_id=7")
    assert original["status"] == "failed"
    assert original["error"]["type"] == "TypeError"
    io = [s for s in original["steps"] if s.get("kind") == "io"]
    assert len(io) == 1 and io[0]["io"]["status"] == 200
    assert io[0]["name"] == f"GET http://127.0.0.1:{port}/orders/7"
    fetch = next(s for s in original["steps"] if s["name"] == "fetch_order")
    assert io[0]["parent_id"] == fetch["id"]  # under the call that made it
    assert io[0]["inputs"]["headers"]["preview"]["Authorization"] == "[redacted]"
    assert io[0]["output"]["preview"]["body"] is not None
    original_id = original["id"]
    with Store(db_url) as store:
        world = store.get_world(original_id)
        summaries = store.get_step_summaries(original_id)  # what the web UI's tree reads
    assert [s.io for s in summaries if s.io is not None] == [io[0]["io"]]
    assert world is not None and world.recording is not None and world.size_bytes > 0
    recorded = json.dumps(world.recording)
    assert "s3cret-token" not in recorded and "abc123" not in recorded
    assert world.recording["clock_reads"] >= 1 and world.recording["urandom_bytes"] >= 16

    partner.shutdown()  # the outside world is gone: the replay must not need it
    partner.server_close()

    replayed = _run_json(cli, "replay", original_id, "--deterministic")
    assert replayed["status"] == "failed"
    assert replayed["error"]["message"] == original["error"]["message"]
    assert _shape(replayed) == _shape(original)
    report = replayed["replay"]["report"]
    assert report["http"] == {"recorded": 1, "played": 1, "unplayed": []}
    assert report["divergence"] is None and replayed["replay"]["structural_divergence"] is None

    _deploy(cli, tmp_path, "charge", source.replace("TAX", FIXED))  # v2
    fixed = [_run_json(cli, "replay", original_id, "--deterministic", "--version", "2")]
    fixed.append(_run_json(cli, "replay", original_id, "--deterministic", "--version", "2"))
    assert [f["status"] for f in fixed] == ["succeeded", "succeeded"]
    assert fixed[0]["output"]["total"] == 10.0
    # The recorded clock, random numbers and uuid4 in both: the world was replayed. The fix
    # reads the clock once more than the original did: past the recording it runs on.
    same = [{k: v for k, v in f["output"].items() if k != "t"} for f in fixed]
    assert same[0] == same[1]
    clock = fixed[0]["replay"]["report"]["clock"]
    assert clock["read"] == clock["recorded"] + 1

    _deploy(cli, tmp_path, "charge", source.replace("TAX", NEW_URL))  # v3
    text = cli("replay", original_id, "--deterministic", "--version", "3")
    assert text.exit_code == 1, text
    assert "ReplayDivergence" in text.stdout
    assert f"first divergence: GET http://127.0.0.1:{port}/rates/7" in text.stdout
    diverged = _run_json(cli, "replay", original_id, "--deterministic", "--version", "3")
    divergence = diverged["replay"]["report"]["divergence"]
    assert divergence["request"] == f"GET http://127.0.0.1:{port}/rates/7"
    step = next(s for s in diverged["steps"] if s["id"] == divergence["step_id"])
    assert step["kind"] == "io" and step["status"] == "failed"


def test_httpx_async_replays_with_the_server_gone(
    cli: Cli, tmp_path: pathlib.Path, partner: http.server.HTTPServer
) -> None:
    _deploy(cli, tmp_path, "quote", ASYNC.format(port=partner.server_address[1]))
    original = _run_json(cli, "run", "quote", "-a", "order_id=8")
    assert original["status"] == "succeeded", original
    assert [s["kind"] for s in original["steps"] if s.get("kind") == "io"] == ["io"]
    partner.shutdown()
    partner.server_close()
    replayed = _run_json(cli, "replay", original["id"], "--deterministic")
    assert replayed["status"] == "succeeded", replayed
    assert replayed["output"] == original["output"]
    assert _shape(replayed) == _shape(original)


def test_replaying_without_a_recording_is_refused(cli: Cli, tmp_path: pathlib.Path) -> None:
    (tmp_path / "plain.py").write_text("def plain():\n    return 1\n")
    assert cli("deploy", str(tmp_path / "plain.py")).exit_code == 0
    run = _run_json(cli, "run", "plain")
    cli_env_off = cli("replay", run["id"], "--deterministic", "--version", "9")
    assert cli_env_off.exit_code == 2 and "v9" in cli_env_off.stderr


HANGS = """\
import os
import time

import requests


def fetch_order(order_id):
    return requests.get(f"http://127.0.0.1:PORT/orders/{order_id}").json()


def hang(order_id: int, crash: bool = False):
    order = fetch_order(order_id)
    print("fetched", order, "at", time.time())
    time.sleep(0.5)  # its progress is streamed meanwhile
    if crash:
        os._exit(3)
    time.sleep(60)
"""


@pytest.mark.parametrize("crash", [False, True], ids=["timed_out", "crashed"])
def test_a_run_that_times_out_or_crashes_keeps_its_partial_recording(
    cli: Cli, tmp_path: pathlib.Path, partner: http.server.HTTPServer, db_url: str, crash: bool
) -> None:
    port = partner.server_address[1]
    (tmp_path / "hang.py").write_text(HANGS.replace("PORT", str(port)))
    # A cold worker (local runs) takes seconds to start under load: 8 s leave room for it.
    assert cli("deploy", str(tmp_path / "hang.py"), "--network", "--timeout", "8").exit_code == 0
    args = ("-a", "order_id=7") + (("-a", "crash=true") if crash else ())
    original = _run_json(cli, "run", "hang", *args)
    assert original["status"] == ("crashed" if crash else "timed_out"), original
    with Store(db_url) as store:
        world = store.get_world(original["id"])
    assert world is not None and world.recording is not None, "the partial recording was lost"
    recording = world.recording
    assert recording["partial"] is True
    assert [i["request"]["uri"] for i in recording["http"]] == [f"http://127.0.0.1:{port}/orders/7"]
    assert recording["clock_reads"] >= 1 and recording["clock"]

    partner.shutdown()  # gone: the replay is answered from the partial recording
    partner.server_close()
    fixed = HANGS.replace("PORT", str(port)).replace("time.sleep(60)", "return order")
    (tmp_path / "hang.py").write_text(fixed.replace("os._exit(3)", "pass"))
    assert cli("deploy", str(tmp_path / "hang.py"), "--network").exit_code == 0  # v2
    replayed = _run_json(cli, "replay", original["id"], "--deterministic", "--version", "2")
    assert replayed["status"] == "succeeded", replayed
    assert replayed["output"] == ORDERS["7"]  # the partner's recorded answer
    (io,) = [s for s in replayed["steps"] if s.get("kind") == "io"]
    assert io["io"]["status"] == 200 and io["status"] == "completed"


def test_a_run_whose_code_reaches_nothing_of_the_world_is_recorded_and_replays(
    cli: Cli, tmp_path: pathlib.Path
) -> None:
    """It runs in the zygote that holds nothing of the world, and the supervisor gives it
    its recording (a seed): a deterministic replay of it works like any other, also on a
    version that reads the clock (past the recording: the real clock)."""
    _deploy(cli, tmp_path, "double", "def double(n: int):\n    return n * 2\n")
    original = _run_json(cli, "run", "double", "-a", "n=21")
    assert original["status"] == "succeeded" and original["output"] == 42, original
    replayed = _run_json(cli, "replay", original["id"], "--deterministic")
    assert replayed["status"] == "succeeded" and replayed["output"] == 42, replayed
    stamped = "import time\n\ndef double(n: int):\n    return n * 2 + int(time.time() > 0)\n"
    _deploy(cli, tmp_path, "double", stamped)
    again = _run_json(cli, "replay", original["id"], "--deterministic", "--version", "2")
    assert again["status"] == "succeeded" and again["output"] == 43, again


AUDIT = """\
import io
import logging
import sqlite3

def audit(n: int):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(created).6f %(message)s"))
    log = logging.getLogger("audit")
    log.addHandler(handler)
    log.propagate = False
    db = sqlite3.connect(":memory:")
    db.execute("create table t (n)")
    db.execute("insert into t values (?)", (n,))
    log.warning("stored %s", db.execute("select n from t").fetchone()[0])
    log.removeHandler(handler)
    return stream.getvalue()
"""


def test_a_run_doing_io_no_recording_captures_records_its_clock_without_the_http_clients(
    cli: Cli, tmp_path: pathlib.Path
) -> None:
    """Code whose only input and output is of a kind no recording captures (here a
    database and a log) cannot make a request the HTTP recording would see: it runs in the
    zygote that holds only the clock and randomness, which records the time its log record
    was stamped with, and a deterministic replay stamps the record with that time again."""
    assert reach(AUDIT) == LOCAL
    _deploy(cli, tmp_path, "audit", AUDIT)
    original = _run_json(cli, "run", "audit", "-a", "n=5")
    assert original["status"] == "succeeded", original
    stamp, message = original["output"].split(" ", 1)
    assert message == "stored 5\n" and float(stamp) > 0
    replayed = _run_json(cli, "replay", original["id"], "--deterministic")
    assert replayed["status"] == "succeeded", replayed
    assert replayed["output"] == original["output"]  # the recorded time, not today's
