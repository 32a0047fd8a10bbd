"""Reading back: versions, diff, listings, execution ids and prefixes, the database option."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from runtree.cli import app

from .conftest import Cli


def queue(cli: Cli, count: int) -> list[str]:
    ids = []
    for customer in range(count):
        result = cli("run", "calculate_order_total", "-a", f"customer_id={customer}", "--no-wait")
        assert result.exit_code == 0, result
        ids.append(result.stdout.strip())
    return ids


def test_versions_and_diff_after_modifying_a_copy(cli: Cli, deployed: pathlib.Path) -> None:
    tax = deployed / "calculate_tax.py"
    tax.write_text(tax.read_text().replace('"NL": 0.21', '"NL": 0.09'))
    assert cli("deploy", str(tax), "--timeout", "45").stdout.strip() == (
        "default/calculate_tax: v2 (new)"
    )
    listing = cli("versions", "calculate_tax")
    assert listing.exit_code == 0, listing
    rows = [line.split() for line in listing.stdout.splitlines() if line[:2] in ("v1", "v2")]
    assert [row[0] for row in rows] == ["v1", "v2"]
    # columns: version, created (date, time, zone), sha, timeout ...
    assert rows[0][6] == "30s" and rows[1][6] == "45s"

    diff = cli("diff", "calculate_tax", "1", "2")
    assert diff.exit_code == 0, diff
    lines = diff.stdout.splitlines()
    assert lines[:2] == ["--- default/calculate_tax v1", "+++ default/calculate_tax v2"]
    assert '-VAT = {"NL": 0.21, "FI": 0.255}' in lines
    assert '+VAT = {"NL": 0.09, "FI": 0.255}' in lines
    assert lines[-1] == "setting timeout_s: 30.0 -> 45.0"
    assert cli("diff", "default/calculate_tax", "1").stdout == diff.stdout  # TO: the latest
    same = cli("diff", "calculate_tax", "2", "2")
    assert same.stdout.strip() == "v2 and v2 are identical"

    for args, message in [
        (["diff", "calculate_tax", "1", "3"], "version not found: default/calculate_tax v3"),
        (["diff", "nope", "1", "2"], "function not found: default/nope"),
        (["versions", "nope"], "function not found: default/nope"),
        (["diff", "calculate_tax", "0", "1"], "FROM"),
    ]:
        result = cli(*args)
        assert result.exit_code == 2, result
        assert message in result.stderr


def test_empty_listings(cli: Cli) -> None:
    assert cli("functions").stderr.strip() == "no functions yet (runtree deploy PATH)"
    assert cli("executions").stderr.strip() == "no executions"
    assert cli("functions", "--json").stdout.strip() == "[]"


def test_executions_table_and_filters(cli: Cli, deployed: pathlib.Path) -> None:
    ids = queue(cli, 3)
    table = cli("executions").stdout.splitlines()
    assert table[0].split() == [
        "id",
        "function",
        "version",
        "status",
        "trigger",
        "started",
        "duration",
    ]
    assert [line.split()[0] for line in table[2:]] == ids[::-1]  # newest first
    assert table[2].split()[1:5] == ["default/calculate_order_total", "v1", "queued", "cli"]
    limited = cli("executions", "--limit", "2")
    assert len(limited.stdout.splitlines()) == 4
    assert "--limit N for more" in limited.stderr
    assert cli("executions", "--status", "succeeded").stderr.strip() == "no executions"
    assert cli("executions", "--function", "shop/calculate_order_total").stderr.strip() == (
        "no executions"
    )
    bad = cli("executions", "--status", "done")
    assert bad.exit_code == 2
    assert "done" in bad.stderr
    functions = cli("functions").stdout
    assert f"default/calculate_order_total   v1        3      queued        {ids[-1]}" in functions


def test_execution_id_prefixes(cli: Cli, deployed: pathlib.Path) -> None:
    ids = queue(cli, 2)
    common = 0
    while ids[0][common] == ids[1][common]:
        common += 1
    # ids start with their creation time: executions made together share a long prefix
    ambiguous = cli("show", ids[0][: max(common, 4)])
    assert ambiguous.exit_code == 2
    assert "is ambiguous; it matches:" in ambiguous.stderr
    assert f"  {ids[0]}" in ambiguous.stderr and f"  {ids[1]}" in ambiguous.stderr
    for full in ids:
        unique = full[: common + 1]
        assert cli("tree", unique).exit_code == 0
        assert json.loads(cli("show", unique, "--json").stdout)["id"] == full
    dashed = f"{ids[0][:8]}-{ids[0][8:12]}-{ids[0][12:16]}-{ids[0][16:20]}-{ids[0][20:]}"
    assert json.loads(cli("show", dashed.upper(), "--json").stdout)["id"] == ids[0]
    for text, message in [
        ("abc", "too short"),
        ("zzzzzzzz", "invalid execution id"),
        ("0" * 33, "invalid execution id"),
        ("0000ffff", "execution not found: 0000ffff"),
        ("f" * 32, f"execution not found: {'f' * 32}"),
    ]:
        result = cli("show", text)
        assert result.exit_code == 2, result
        assert message in result.stderr
    assert cli("tree", ids[0]).stdout == ""  # queued: no steps yet


def test_database_from_option_environment_and_default(
    tmp_path: pathlib.Path, orders: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    tax = str(orders / "calculate_tax.py")
    env_url = f"sqlite:///{tmp_path / 'env.db'}"
    option_url = f"sqlite:///{tmp_path / 'option.db'}"
    monkeypatch.setenv("RUNTREE_DATABASE_URL", env_url)
    assert runner.invoke(app, ["deploy", tax]).exit_code == 0
    assert runner.invoke(app, ["deploy", tax, "--database", option_url]).exit_code == 0
    assert runner.invoke(app, ["--database", option_url, "deploy", tax, "-n", "two"]).exit_code == 0

    def names(*args: str) -> list[str]:
        result = runner.invoke(app, [*args, "functions", "--json"])
        return [f"{f['namespace']}/{f['name']}" for f in json.loads(result.stdout)]

    assert names() == ["default/calculate_tax"]
    assert names("--database", option_url) == ["default/calculate_tax", "two/calculate_tax"]
    # the command's own --database wins over the global one
    result = runner.invoke(app, ["--database", env_url, "functions", "--database", option_url])
    assert "two/calculate_tax" in result.stdout

    monkeypatch.delenv("RUNTREE_DATABASE_URL")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["deploy", tax]).exit_code == 0
    assert (tmp_path / "runtree.db").exists()  # sqlite:///runtree.db in the working directory


def test_unusable_databases_are_one_line_errors(cli: Cli, tmp_path: pathlib.Path) -> None:
    runner = CliRunner()
    for url, message in [
        ("mysql://db/x", "unsupported database 'mysql'"),
        (f"sqlite:///{tmp_path}/no/such/dir/x.db", "unable to open database file"),
    ]:
        result = runner.invoke(app, ["--database", url, "functions"])
        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.output
