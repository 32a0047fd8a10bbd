"""Deterministic replay with the sandbox on (README, "Deterministic replay"): a function with
network on calls a partner API "outside", reads the clock, draws random numbers and fails on
one specific answer; its run is recorded; with the partner gone, a deterministic replay
reproduces the same failure, tree and printed output, and a fixed version replayed on the
same recording succeeds.

Why a network namespace: with network on, a sandboxed run may reach neither loopback nor any
address of this host, nor private ranges (the egress firewall, ``sandbox/firewall.py``),
and only TCP ports 80 and 443 (Landlock). So the partner listens on port 80 inside a
namespace this test creates, behind a veth pair on a /30 of TEST-NET-2 (see ``outside.py``),
the way a real partner is outside the host. Nothing leaves the machine; the namespace and
its link are deleted by name afterwards. The test fails (never skips) when the server does
not report the sandbox on, and checks that the run executed as a slot uid.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import SLOT_UIDS, Platform, running_platform
from .outside import Outside

pytestmark = pytest.mark.slow

PARTNER = """\
import http.server, json

ORDERS = {"7": {"amount": 10.0, "tax_rate": None}}

class Orders(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(ORDERS.get(self.path.rsplit("/", 1)[-1])).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("0.0.0.0", 80), Orders)
print("ready", flush=True)
server.serve_forever()
"""

CHARGE = """\
import datetime
import os
import random

import requests


def fetch_order(order_id):
    return requests.get(f"http://ADDRESS/orders/{order_id}", timeout=10).json()


def charge(order_id: int):
    order = fetch_order(order_id)
    stamp = datetime.datetime.now().isoformat()
    ticket = random.randint(1000, 9999)
    print(f"charging order {order_id} at {stamp}, ticket {ticket}, uid {os.getuid()}")
    TAX
    return {"total": round(order["amount"] * (1 + rate), 2), "at": stamp, "ticket": ticket}
"""
BROKEN = 'rate = order["tax_rate"]  # null for some orders: TypeError'
FIXED = 'rate = order["tax_rate"] or 0'


@pytest.fixture(scope="module")
def outside() -> Iterator[Outside]:
    if os.geteuid() != 0:
        pytest.fail("network namespaces and the sandbox need root (as CI has); nothing was run")
    with Outside(PARTNER) as made:
        yield made


@pytest.fixture(scope="module")
def server() -> Iterator[Platform]:
    with running_platform("full") as made:
        yield made


def _replay(server: Platform, execution_id: str, **body: Any) -> dict[str, Any]:
    with server.client() as client:
        response = client.post(
            f"/executions/{execution_id}/replay", json={"deterministic": True, **body}
        )
        assert response.status_code == 202, response.text
        replayed = server.wait(str(response.json()["id"]))
        world = client.get(f"/executions/{replayed['id']}/world")
        assert world.status_code == 200, world.text
        replayed["world"] = world.json()
    return replayed


def _printed(execution: dict[str, Any]) -> str:
    """The root step's printed line, without the slot uid (a replay may run in the other
    slot)."""
    text, _, uid = str(execution["steps"][0]["stdout"]).rpartition(", uid ")
    assert int(uid) in SLOT_UIDS  # it ran confined, as a slot uid
    return text


def _tree(execution: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (s["name"], s["status"], s["kind"], s["depth"], (s["error"] or {}).get("message"))
        for s in execution["steps"]
    ]


def test_a_sandboxed_network_run_replays_exactly_with_the_partner_gone(
    server: Platform, outside: Outside
) -> None:
    sandbox = server.assert_sandboxed()
    assert any(layer["name"] == "landlock" and layer["active"] for layer in sandbox["layers"])
    source = CHARGE.replace("ADDRESS", outside.address)
    server.deploy("charge", source.replace("TAX", BROKEN), network=True, timeout_s=30)
    original = server.run("charge", {"order_id": 7})
    assert original["status"] == "failed", original
    assert original["error"]["type"] == "TypeError", original["error"]
    assert "ticket" in _printed(original)
    (io,) = [s for s in original["steps"] if s["kind"] == "io"]
    assert io["io"] == {
        "method": "GET",
        "url": f"http://{outside.address}/orders/7",
        "status": 200,
    }

    outside.stop_server()  # the partner is gone: the replay must not need it

    replayed = _replay(server, original["id"])
    assert replayed["status"] == "failed", replayed
    assert replayed["error"]["type"] == "TypeError"
    assert replayed["error"]["message"] == original["error"]["message"]
    assert _tree(replayed) == _tree(original)
    assert _printed(replayed) == _printed(original)  # the recorded clock and random numbers
    report = replayed["world"]["report"]
    assert report["http"]["recorded"] == 1 and report["http"]["played"] == 1, report
    assert report["divergence"] is None, report

    server.deploy("charge", source.replace("TAX", FIXED), network=True, timeout_s=30)  # v2
    fixed = _replay(server, original["id"], version=2)
    assert fixed["status"] == "succeeded", fixed
    assert fixed["output"]["total"] == 10.0, fixed["output"]
    assert _printed(fixed) == _printed(original)
