"""Shadow replay through the HTTP API with real runs, on the order example: a fix of
``get_customer`` deployed with ``?shadow=N`` is stored but not current, its report says the
failing order is fixed and the other is the same; ``--require-clean`` refuses it; a
comment-only version is clean and is promoted; a changed tax rate is a different output;
shadow runs stay out of listings and statistics; runs with secret inputs are skipped."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .helpers import API, EXAMPLES, assert_problem, deploy_examples, run

pytestmark = pytest.mark.slow

GET_CUSTOMER = (EXAMPLES / "get_customer.py").read_text()
FIXED = GET_CUSTOMER.replace(
    "    7: {",
    '    3: {"id": 3, "name": "Grace", "tier": "gold", "country": "NL", "promo": None},\n    7: {',
)
COMMENTED = GET_CUSTOMER.replace(
    "def get_customer(", "# Customers come from the table above.\ndef get_customer(", 1
)
TAX = (EXAMPLES / "calculate_tax.py").read_text()
NEW_TAX = TAX.replace('"NL": 0.21', '"NL": 0.19')
CHARGE = "def charge(amount: float, api_key: str):\n    return amount\n"


def _deploy(client: TestClient, ns: str, name: str, code: str, shadow: int | None) -> Any:
    params = {} if shadow is None else {"shadow": shadow}
    response = client.put(f"{API}/functions/{ns}/{name}", json={"code": code}, params=params)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _report(client: TestClient, ns: str, name: str, report_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        response = client.get(f"{API}/functions/{ns}/{name}/shadow-reports/{report_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] == "finished":
            return body
        assert time.monotonic() < deadline, body["counts"]
        time.sleep(0.1)


def _verdicts(report: dict[str, Any]) -> dict[int, str]:
    return {r["input"]["customer_id"]: r["verdict"] for r in report["runs"]}


def _current(client: TestClient, ns: str, name: str) -> tuple[int, int]:
    body = client.get(f"{API}/functions/{ns}/{name}").json()
    return body["current_version"], body["latest_version"]


def _promote(client: TestClient, ns: str, name: str, number: int, **body: Any) -> Any:
    return client.post(f"{API}/functions/{ns}/{name}/versions/{number}/promote", json=body)


def test_shadow_replay_of_the_order_example(live: TestClient, namespace: str) -> None:
    ns = namespace
    deploy_examples(live, ns)
    for customer in (42, 3):
        assert run(live, ns, "calculate_order_total", input={"customer_id": customer}).status_code
    # The fix: stored, not current, replayed against both recorded orders.
    deployed = _deploy(live, ns, "get_customer", FIXED, shadow=5)
    assert (deployed["number"], deployed["created"], deployed["current"]) == (2, True, False)
    assert _current(live, ns, "get_customer") == (1, 2)
    fixed = _report(live, ns, "get_customer", deployed["shadow_report"])
    assert (fixed["version"], fixed["baseline_version"], fixed["network"]) == (2, 1, False)
    assert _verdicts(fixed) == {3: "fixed_error", 42: "same"}
    assert fixed["clean"] is False and fixed["skipped"] == []
    fixed_run = next(r for r in fixed["runs"] if r["verdict"] == "fixed_error")
    assert fixed_run["recorded"]["error"] == "KeyError: 'no customer with id 3'"
    assert fixed_run["shadow"]["output"]["customer"] == "Grace"
    assert fixed_run["shadow"]["versions"]["get_customer"] == 2
    # Not clean: refused, nothing changed.
    refused = _promote(live, ns, "get_customer", 2, require_clean=True)
    body = assert_problem(refused, 409, "shadow-not-clean")
    assert "1 fixed error" in body["detail"] and body["key"] == f"{ns}/get_customer v2"
    assert _current(live, ns, "get_customer") == (1, 2)

    # Shadow runs are in no listing or statistic unless asked for.
    listed = live.get(f"{API}/executions", params={"function": f"{ns}/calculate_order_total"})
    assert {e["trigger"] for e in listed.json()["executions"]} == {"api"}
    everything = live.get(
        f"{API}/executions",
        params={"function": f"{ns}/calculate_order_total", "include_shadow": "true"},
    ).json()["executions"]
    shadows = [e for e in everything if e["trigger"] == "shadow"]
    assert len(shadows) == 2 and {e["shadow_report_id"] for e in shadows} == {fixed["id"]}
    only = live.get(f"{API}/executions", params={"trigger": "shadow"}).json()["executions"]
    assert {e["id"] for e in shadows} <= {e["id"] for e in only}
    stats = live.get(f"{API}/functions/{ns}/calculate_order_total/stats").json()
    assert sum(sum(v["statuses"].values()) for v in stats["versions"]) == 2
    total = live.get(f"{API}/functions/{ns}/calculate_order_total").json()
    assert total["run_count"] == 2

    # A comment-only version: clean, and promoted with require_clean.
    commented = _deploy(live, ns, "get_customer", COMMENTED, shadow=5)
    clean = _report(live, ns, "get_customer", commented["shadow_report"])
    assert _verdicts(clean) == {3: "same", 42: "same"} and clean["clean"] is True
    promoted = _promote(live, ns, "get_customer", 3, require_clean=True)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json() == {
        "function": f"{ns}/get_customer",
        "previous_version": 1,
        "current_version": 3,
        "changed": True,
    }
    assert _current(live, ns, "get_customer") == (3, 3)
    # The older report now compares with a version that is no longer current.
    stale = assert_problem(
        _promote(live, ns, "get_customer", 2, require_clean=True), 409, "shadow-not-clean"
    )
    assert "v3 is current now" in stale["detail"]

    # A changed tax rate: the Dutch order's output differs.
    taxed = _deploy(live, ns, "calculate_tax", NEW_TAX, shadow=5)
    different = _report(live, ns, "calculate_tax", taxed["shadow_report"])
    assert _verdicts(different)[42] == "different_output"
    listing = live.get(f"{API}/functions/{ns}/calculate_tax/shadow-reports").json()["reports"]
    assert [r["id"] for r in listing] == [different["id"]]

    actions = {
        (e["action"], e["target"])
        for e in live.get(f"{API}/audit", params={"namespace": ns}).json()["entries"]
    }
    assert ("function.shadow", f"{ns}/get_customer v2") in actions
    assert ("function.promote", f"{ns}/get_customer v3") in actions


def test_runs_with_secret_inputs_are_skipped_and_counted(live: TestClient, namespace: str) -> None:
    _deploy(live, namespace, "charge", CHARGE, shadow=3)  # a first version becomes current
    response = run(live, namespace, "charge", input={"amount": 5.0, "api_key": "sk_live_1"})
    assert response.status_code == 200, response.text
    deployed = _deploy(live, namespace, "charge", CHARGE + "# v2\n", shadow=3)
    report = _report(live, namespace, "charge", deployed["shadow_report"])
    assert report["replayed"] == 0 and report["skipped_counts"] == {"secret_input": 1}
    assert report["skipped"][0]["execution_id"] == response.json()["id"]
    assert "secrets" in report["skipped"][0]["why"]
    assert report["clean"] is False  # nothing was compared: no evidence either way
    refused = _promote(live, namespace, "charge", 2, require_clean=True)
    assert (
        "replayed no recorded input" in assert_problem(refused, 409, "shadow-not-clean")["detail"]
    )


def test_bad_shadow_requests(client: TestClient) -> None:
    _deploy(client, "default", "f", "def f():\n    return 1\n", shadow=None)
    for value in (0, 201, "x"):
        response = client.put(
            f"{API}/functions/default/f",
            json={"code": "def f():\n    return 2\n"},
            params={"shadow": value},
        )
        assert assert_problem(response, 422, "invalid-request")["field"] == "shadow"
    assert client.get(f"{API}/functions/default/f/versions").json()["versions"][-1]["number"] == 1
    missing = "0" * 32
    assert_problem(
        client.get(f"{API}/functions/default/f/shadow-reports/{missing}"), 404, "not-found"
    )
    assert_problem(client.get(f"{API}/functions/default/nope/shadow-reports"), 404, "not-found")
    assert_problem(_promote(client, "default", "f", 9), 404, "not-found")
    assert_problem(_promote(client, "default", "f", 1, require_clean="yes"), 422, "invalid-request")
    # Promoting the current version changes nothing.
    same = _promote(client, "default", "f", 1)
    assert same.status_code == 200 and same.json()["changed"] is False
    # A report of another function is not found under this one.
    deployed = _deploy(client, "default", "f", "def f():\n    return 3\n", shadow=2)
    assert deployed["current"] is False and deployed["shadow_report"]
    _deploy(client, "default", "g", "def g():\n    return 1\n", shadow=None)
    other = client.get(f"{API}/functions/default/g/shadow-reports/{deployed['shadow_report']}")
    assert_problem(other, 404, "not-found")
