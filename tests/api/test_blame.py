"""Performance blame and flame graphs on the order example, through the API with real runs:
a version of ``calculate_discount`` whose nested helper ``apply_promo_code`` sleeps is
blamed on that path with its hunk, a version with only a comment changed is not, and the
differential flame graph shows the path that got slower."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from runtree.api.schemas.history import BlameOut, FlameDiffOut, FlameGraphOut
from runtree.cli.render_blame import blame_lines

from .helpers import API, EXAMPLES, deploy, deploy_examples, run

pytestmark = pytest.mark.slow

APPLY = "calculate_discount.<locals>.apply_promo_code"
PATH = ["calculate_discount", APPLY]
ORIGINAL = (EXAMPLES / "calculate_discount.py").read_text()
SLEEPING = "import time\n\n" + ORIGINAL.replace(
    '        rates = {"SAVE10": 0.10, "SAVE20": 0.20}\n',
    '        time.sleep(0.005)\n        rates = {"SAVE10": 0.10, "SAVE20": 0.20}\n',
)
NOISE = ORIGINAL + "\n# only a comment changed\n"
RUNS = 10


def _runs(client: TestClient, namespace: str, promo: str, count: int) -> None:
    body = {"customer": {"promo": promo}, "subtotal": 100.0}
    for _ in range(count):
        response = run(client, namespace, "calculate_discount", input=body)
        assert response.status_code == 200, response.text


def _get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(API + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _path(document: dict[str, Any], names: list[str]) -> dict[str, Any]:
    return next(p for p in document["paths"] if p["path"] == names)


def test_blame_and_flame_graphs_of_the_order_example(live: TestClient, namespace: str) -> None:
    assert "time.sleep(0.005)" in SLEEPING
    deploy_examples(live, namespace)  # v1
    _runs(live, namespace, "SAVE10", RUNS)
    deploy(live, namespace, "calculate_discount", SLEEPING)  # v2: the helper sleeps 5 ms
    _runs(live, namespace, "SAVE10", RUNS)
    _runs(live, namespace, "BOGUS", 2)  # and fails for an unknown promo code
    deploy(live, namespace, "calculate_discount", NOISE)  # v3: v1 plus a comment
    _runs(live, namespace, "SAVE10", RUNS)
    fn = f"/functions/{namespace}/calculate_discount"

    # v1 -> v2: the helper's path is blamed, with the hunk that added the sleep.
    document = _get(live, fn + "/blame", **{"from": 1, "to": 2})
    BlameOut.model_validate(document)
    assert (document["old_runs"], document["new_runs"]) == (RUNS, RUNS + 2)
    flagged = [p["path"] for p in document["paths"] if p["verdict"]]
    assert flagged == [PATH], flagged
    helper = document["paths"][0]
    assert helper["path"] == PATH and helper["verdict"] == "slower"
    assert helper["p_value"] < 0.01 and helper["ratio"] > 100
    assert helper["old"]["runs"] == RUNS and helper["new"]["runs"] == RUNS + 2
    assert helper["new"]["self_p50_ns"] >= 5_000_000
    assert [(h["function"], h["from_version"], h["to_version"]) for h in helper["hunks"]] == [
        (f"{namespace}/calculate_discount", 1, 2)
    ]  # one hunk: the lines are close
    added = [line for h in helper["hunks"] for line in h["lines"] if line.startswith("+")]
    assert added == ["+import time", "+", "+        time.sleep(0.005)"]
    assert any(APPLY in h["touches"] for h in helper["hunks"])
    # The caller's own time did not change: it is not blamed, though its total grew.
    caller = _path(document, ["calculate_discount"])
    assert caller["verdict"] is None
    assert caller["new"]["total_p50_ns"] > caller["old"]["total_p50_ns"] + 4_000_000
    # The new errors are put on the helper (where KeyError was raised), not its caller.
    assert helper["errors"]["message"] == "apply_promo_code now fails in 17% of runs, was 0%"
    assert helper["errors"]["new"] is True
    assert caller["errors"] is None

    text = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    for line in blame_lines(document):
        text.print(line)
    rendered = text.export_text()
    assert "SLOWER  calculate_discount → apply_promo_code" in rendered
    assert "+        time.sleep(0.005)" in rendered
    assert "apply_promo_code now fails in 17% of runs, was 0%" in rendered

    # v1 -> v3 (a comment): nothing flagged.
    noise = _get(live, fn + "/blame", **{"from": 1, "to": 3})
    assert noise["old_runs"] == noise["new_runs"] == RUNS
    assert all(p["tested"] for p in noise["paths"])
    assert [p["path"] for p in noise["paths"] if p["verdict"] or p["errors"]] == []
    # Defaults: to the current version (3) from the newest older one with runs (2).
    default = _get(live, fn + "/blame")
    assert (default["from_version"], default["to_version"]) == (2, 3)
    assert [p["path"] for p in default["paths"] if p["verdict"]] == [PATH]
    assert default["paths"][0]["verdict"] == "faster"

    # The flame graph of v2 and the differential graph v1 -> v2 show the path.
    flame = _get(live, fn + "/flame", version=2)
    FlameGraphOut.model_validate(flame)
    assert flame["runs"] == RUNS + 2
    nodes = {n["name"]: n for n in flame["nodes"]}
    assert nodes[APPLY]["parent"] == nodes["calculate_discount"]["id"]
    assert nodes[APPLY]["self_ns"] >= (RUNS + 2) * 5_000_000
    assert nodes["calculate_discount"]["value_ns"] >= nodes[APPLY]["value_ns"]
    assert nodes[APPLY]["calls"] == RUNS + 2
    diff = _get(live, fn + "/flame/diff", **{"from": 1, "to": 2})
    FlameDiffOut.model_validate(diff)
    changed = {n["name"]: n for n in diff["nodes"]}
    assert changed[APPLY]["change"] > 0.9
    # Means per run (a single slow run under load weighs in), so no ratio is asserted here.
    assert changed[APPLY]["new_self_ns"] >= 5_000_000
    assert max(diff["nodes"], key=lambda n: n["change"] or 0)["name"] == APPLY
    assert (changed[APPLY]["old_runs"], changed[APPLY]["new_runs"]) == (RUNS, RUNS + 2)
    # Time ranges instead of versions: everything up to now against nothing.
    ranged = _get(live, fn + "/flame/diff", to_since="2100-01-01T00:00:00")
    assert ranged["new_runs"] == 0 and ranged["old_runs"] == 3 * RUNS + 2

    missing = live.get(API + fn + "/blame", params={"from": 9})
    assert missing.status_code == 404
