"""Golden tests of ``runtree compare`` on the order example: real runs through worker
processes, compared by their trees."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from .conftest import Cli

APPLY = "calculate_discount.<locals>.apply_promo_code"


def _run(cli: Cli, customer_id: int) -> str:
    result = cli("run", "calculate_order_total", "-a", f"customer_id={customer_id}", "--json")
    return str(json.loads(result.stdout)["id"])


def _rows(document: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(row["depth"], row["name"], row["kind"]) for row in document["rows"]]


@pytest.mark.slow
def test_compare_two_order_runs(cli: Cli, deployed: pathlib.Path) -> None:
    ada, missing, linus = _run(cli, 42), _run(cli, 3), _run(cli, 7)

    # Ada against Linus: the same calls but Linus has no promo code, so the nested
    # apply_promo_code only ran for Ada; the first divergence is the root's input.
    document = json.loads(cli("compare", ada, linus, "--json").stdout)
    assert _rows(document) == [
        (0, "calculate_order_total", "changed"),
        (1, "get_customer", "changed"),
        (1, "calculate_discount", "changed"),
        (2, APPLY, "removed"),
        (1, "calculate_tax", "changed"),
    ]
    assert document["first_divergence"] == {
        "row": 0,
        "reason": "inputs",
        "path": ["calculate_order_total"],
    }
    root, customer, _, _, tax = document["rows"]
    assert [(c["key"], c["a"], c["b"]) for c in root["inputs"]] == [("customer_id", 42, 7)]
    assert [(c["key"], c["a"], c["b"]) for c in customer["inputs"]] == [("customer_id", 42, 7)]
    assert [(c["key"], c["a"], c["b"]) for c in tax["inputs"]] == [
        ("amount", 90.0, 100.0),
        ("country", "NL", "FI"),
    ]
    assert all(row["output_changed"] for row in (root, customer, tax))
    assert document["counts"] == {"same": 0, "changed": 4, "added": 0, "removed": 1}

    # Ada against the missing customer: the first divergence is where b failed.
    document = json.loads(cli("compare", ada, missing, "--json").stdout)
    assert _rows(document) == [
        (0, "calculate_order_total", "changed"),
        (1, "get_customer", "changed"),
        (1, "calculate_discount", "removed"),
        (2, APPLY, "removed"),
        (1, "calculate_tax", "removed"),
    ]
    assert document["first_divergence"] == {
        "row": 1,
        "reason": "failure",
        "path": ["calculate_order_total", "get_customer"],
    }
    failing = document["rows"][1]
    assert (failing["a"]["status"], failing["b"]["status"]) == ("completed", "failed")
    assert failing["error"] == "appeared"
    assert failing["b"]["error"] == "KeyError: 'no customer with id 3'"

    text = cli("compare", ada[:12], missing[:12])
    assert text.exit_code == 0, text
    marked = [line for line in text.stdout.splitlines() if line.startswith(">")]
    assert len(marked) == 1 and "get_customer" in marked[0]
    assert "error appeared: KeyError: 'no customer with id 3'" in marked[0]
    assert "customer_id: 42 → 3" in marked[0]
    assert "first divergence (failure): calculate_order_total → get_customer" in text.stdout
    assert "- " + "    " + APPLY in text.stdout  # only in a, two levels down

    same = cli("compare", ada, ada)
    assert "no differences" in same.stdout and not [
        line for line in same.stdout.splitlines() if line[:1] in ("~", "+", "-", ">")
    ]
    changes = cli("compare", ada, linus, "--changes").stdout
    assert APPLY in changes


def test_compare_unknown_execution(cli: Cli, deployed: pathlib.Path) -> None:
    result = cli("compare", "0" * 32, "1" * 32)
    assert result.exit_code != 0
    assert "not found" in result.stderr.lower()
