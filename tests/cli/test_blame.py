"""``runtree blame`` on a local database (the statistics are tested in tests/analysis and,
with real runs, in tests/api/test_blame.py)."""

from __future__ import annotations

import json
import pathlib

import pytest

from .conftest import Cli


@pytest.mark.slow
def test_blame_with_too_few_runs_tests_nothing(cli: Cli, deployed: pathlib.Path) -> None:
    for customer in (42, 7):
        assert cli("run", "calculate_order_total", "-a", f"customer_id={customer}").exit_code == 0
    result = cli("blame", "calculate_order_total")
    assert result.exit_code == 0, result
    assert "default/calculate_order_total: v1 (2 runs) → v1 (2 runs)" in result.stdout
    assert "nothing flagged" in result.stdout
    assert "calculate_order_total → get_customer" in result.stdout
    assert "untested" in result.stdout
    document = json.loads(cli("blame", "calculate_order_total", "--json", "--runs", "1").stdout)
    assert (document["old_runs"], document["new_runs"]) == (1, 1)
    assert document["rules"]["min_runs"] == 8
    assert {tuple(p["path"]) for p in document["paths"]} >= {
        ("calculate_order_total",),
        ("calculate_order_total", "calculate_tax"),
    }


def test_blame_unknown_function_or_version(cli: Cli, deployed: pathlib.Path) -> None:
    assert "not found" in cli("blame", "nothing_here").stderr.lower()
    result = cli("blame", "calculate_tax", "--from", "5")
    assert result.exit_code != 0 and "v5" in result.stderr


def test_the_cli_limits_are_the_services() -> None:
    from runtree.cli import commands_blame
    from runtree.service import history

    assert (commands_blame.DEFAULT_RUNS, commands_blame.MAX_RUNS) == (
        history.DEFAULT_RUNS,
        history.MAX_RUNS,
    )
