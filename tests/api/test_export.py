"""``GET /executions/{id}/export``: a real run of the order example as trace files."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.trace_files.checks import check_speedscope, complete_events

from .helpers import API, assert_problem, deploy_examples, run

pytestmark = pytest.mark.slow


def test_export_a_run_of_the_order_example(live: TestClient, namespace: str) -> None:
    deploy_examples(live, namespace)
    ran = run(live, namespace, "calculate_order_total", input={"customer_id": 42}).json()
    execution = live.get(f"{API}/executions/{ran['id']}").json()
    assert execution["status"] == "succeeded"
    url = f"{API}/executions/{execution['id']}/export"
    stem = f"runtree-{namespace}-calculate_order_total-{execution['id'][:8]}"

    chrome = live.get(url)  # chrome by default
    assert chrome.status_code == 200, chrome.text
    assert chrome.headers["content-disposition"] == f'attachment; filename="{stem}.chrome.json"'
    events = complete_events(chrome.json())
    assert len(events) == len(execution["steps"])
    by_id = {event["args"]["step_id"]: event for event in events}
    for step in execution["steps"]:
        event = by_id[step["id"]]
        assert (event["name"], event["args"]["function"]) == (step["name"], step["function"])
        assert event["dur"] == step["duration_ns"] / 1000

    speedscope = live.get(url, params={"format": "speedscope"})
    assert speedscope.status_code == 200, speedscope.text
    assert speedscope.headers["content-disposition"].endswith('.speedscope.json"')
    check_speedscope(speedscope.json())

    as_json = live.get(url, params={"format": "json"}).json()
    assert as_json["execution"]["id"] == execution["id"]
    assert [s["id"] for s in as_json["steps"]] == [s["id"] for s in execution["steps"]]

    assert_problem(live.get(url, params={"format": "svg"}), 422, "invalid-request")
    assert_problem(live.get(f"{API}/executions/{'f' * 32}/export"), 404, "not-found")
