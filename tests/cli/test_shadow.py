"""``runtree deploy --shadow [N]``, ``runtree shadow`` and ``runtree promote`` on a database
(no server: the CLI runs the shadow runs itself)."""

from __future__ import annotations

import json
import pathlib

import pytest
import typer.main

from runtree.cli import app, commands_deploy
from runtree.service import shadow as service_shadow

from .conftest import Cli


def _parsed(*args: str) -> dict[str, object]:
    group = typer.main.get_command(app)
    context = group.make_context("runtree", [], resilient_parsing=True)
    command = group.get_command(context, "deploy")  # type: ignore[attr-defined]
    with command.make_context("deploy", list(args)) as ctx:
        return dict(ctx.params)


def test_shadow_takes_an_optional_number() -> None:
    default = commands_deploy.DEFAULT_SHADOW_RUNS
    assert _parsed("f.py")["shadow"] is None
    assert _parsed("f.py", "--shadow")["shadow"] == default
    assert _parsed("--shadow", "f.py")["shadow"] == default  # the path is not the number
    assert _parsed("--shadow", "f.py")["paths"] == [pathlib.Path("f.py")]
    assert _parsed("--shadow", "5", "f.py")["shadow"] == 5
    assert _parsed("f.py", "--shadow=7")["shadow"] == 7
    assert _parsed("--", "--shadow")["paths"] == [pathlib.Path("--shadow")]


def test_the_cli_limits_are_the_services() -> None:
    assert commands_deploy.DEFAULT_SHADOW_RUNS == service_shadow.DEFAULT_SHADOW_RUNS
    assert commands_deploy.MAX_SHADOW_RUNS == service_shadow.MAX_SHADOW_RUNS


def test_shadow_out_of_range_is_a_usage_error(cli: Cli, tmp_path: pathlib.Path) -> None:
    source = tmp_path / "f.py"
    source.write_text("def f():\n    return 1\n")
    result = cli("deploy", str(source), "--shadow", "0")
    assert result.exit_code == 2 and "--shadow" in result.stderr
    assert cli("versions", "f").exit_code != 0  # nothing deployed


@pytest.mark.slow
def test_a_clean_version_is_promoted_and_a_changed_one_refused(
    cli: Cli, tmp_path: pathlib.Path
) -> None:
    source = tmp_path / "double.py"
    source.write_text("def double(x: int):\n    return 2 * x\n")
    assert cli("deploy", str(source), "--shadow").exit_code == 0  # first version: current
    for x in (1, 2):
        assert cli("run", "double", "-a", f"x={x}", "--no-tree").exit_code == 0
    # A comment only, not waited for: the runs stay queued until `shadow --wait` runs them.
    source.write_text("def double(x: int):\n    # twice x\n    return 2 * x\n")
    deployed = cli("deploy", str(source), "--shadow", "--no-wait")
    assert deployed.exit_code == 0, deployed
    assert "v2 (new) not current: shadow report" in deployed.stdout
    assert "runtree shadow double --report" in deployed.stdout
    pending = cli("shadow", "double", "--json")
    assert pending.exit_code == 1 and json.loads(pending.stdout)["status"] == "running"
    assert "v1 (v2 not current)" in cli("functions").stdout
    refused = cli("promote", "double", "2", "--require-clean")
    assert refused.exit_code == 1 and "has not finished" in refused.stderr, refused
    clean = cli("shadow", "double", "--wait")
    assert clean.exit_code == 0, clean
    assert "2 inputs replayed: 2 same" in clean.stdout
    assert "--require-clean` makes it current" in clean.stdout
    # A change of behaviour, also replayed against v1 (still current): reported, refused.
    source.write_text("def double(x: int):\n    return x + x + 1\n")
    changed = cli("deploy", str(source), "--shadow", "5")
    assert changed.exit_code == 0, changed
    assert "2 inputs replayed: 2 different output" in changed.stdout
    assert "output 2 → 3" in changed.stdout and "output 4 → 5" in changed.stdout
    assert cli("shadow", "double").exit_code == 1  # the newest report: v3's
    assert cli("shadow", "double", "2").exit_code == 0
    refused = cli("promote", "double", "3", "--require-clean")
    assert refused.exit_code == 1 and "2 different output" in refused.stderr, refused
    assert "v1 (v3 not current)" in cli("functions").stdout
    promoted = cli("promote", "double", "2", "--require-clean")
    assert promoted.exit_code == 0 and "v2 is current (was v1)" in promoted.stdout, promoted
    # Shadow runs only when asked for; a shadow run can be shown like any other.
    plain = json.loads(cli("executions", "--json").stdout)
    everything = json.loads(cli("executions", "--shadow", "--json").stdout)
    assert {e["trigger"] for e in plain} == {"cli"} and len(plain) == 2
    shadows = [e for e in everything if e["trigger"] == "shadow"]
    assert len(shadows) == 4
    assert cli("show", shadows[0]["id"][:16], "--no-tree").exit_code == 0
    # A rollback is a promotion too.
    assert "v1 is current (was v2)" in cli("promote", "double", "1").stdout
    audit = json.loads(cli("audit", "--json").stdout)
    assert [e["target"] for e in audit if e["action"] == "function.promote"] == [
        "default/double v1",
        "default/double v2",
    ]
