"""``runtree export``: a run of the order example as Chrome trace events, speedscope, JSON."""

from __future__ import annotations

import json
import pathlib

from tests.trace_files.checks import check_speedscope, complete_events

from .conftest import Cli


def test_export_the_order_example(cli: Cli, deployed: pathlib.Path, tmp_path: pathlib.Path) -> None:
    ran = cli("run", "calculate_order_total", "-a", "customer_id=42", "--json")
    assert ran.exit_code == 0, ran
    execution_id = json.loads(ran.stdout)["id"]

    chrome = cli("export", execution_id[:10])  # chrome by default, on stdout
    assert chrome.exit_code == 0, chrome
    events = complete_events(json.loads(chrome.stdout))
    names = {event["name"] for event in events}
    assert {"calculate_order_total", "get_customer", "calculate_tax"} <= names
    root = next(e for e in events if e["args"]["parent_id"] is None)
    assert root["args"]["function"] == "default/calculate_order_total"
    assert root["args"]["version"] == 1 and root["args"]["status"] == "completed"

    target = tmp_path / "run.speedscope.json"
    written = cli("export", execution_id, "--format", "speedscope", "-o", str(target))
    assert written.exit_code == 0, written
    assert written.stdout == ""
    document = json.loads(target.read_text())
    check_speedscope(document)
    assert len(document["shared"]["frames"]) >= len(names)

    steps = json.loads(cli("export", execution_id, "--format", "json").stdout)["steps"]
    assert len(steps) == len(events)

    bad = cli("export", execution_id, "--format", "svg")
    assert bad.exit_code == 2 and "svg" in bad.stderr
    missing = cli("export", "f" * 32)
    assert missing.exit_code != 0 and "not found" in missing.stderr
