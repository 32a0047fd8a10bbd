"""docs/cli.md is the CLI's own help, up to date (regenerate: ``make docs``)."""

from __future__ import annotations

from pathlib import Path

from runtree.cli.reference import render

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_cli_reference_is_fresh() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is out of date: run `make docs` (python -m runtree.cli.reference docs/cli.md)"
    )


def test_the_reference_has_every_command() -> None:
    text = render()
    for command in (
        "runtree deploy",
        "runtree run",
        "runtree webhooks create",
        "runtree schedules pause",
        "runtree keys revoke",
    ):
        assert f"## `{command}`" in text
        assert f"Usage: {command} " in text
