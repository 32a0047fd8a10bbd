"""Fixtures: the CLI against a throw-away SQLite database, with plain (non-terminal) output."""

from __future__ import annotations

import dataclasses
import pathlib
import re
import shutil
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from runtree.cli import app

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "orders"
ORDER_FUNCTIONS = ["calculate_discount", "calculate_order_total", "calculate_tax", "get_customer"]
ANSI = re.compile(r"\x1b\[")


@dataclasses.dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:  # shown when an assertion fails
        return f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


Cli = Callable[..., Outcome]


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RUNTREE_DATABASE_URL", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def db_url(tmp_path: pathlib.Path, migrated_database: Callable[[pathlib.Path], str]) -> str:
    return migrated_database(tmp_path / "runtree.db")


@pytest.fixture
def cli(db_url: str) -> Cli:
    """``cli("run", "f", "-a", "x=1")``: runs ``runtree --database URL ...`` in-process."""
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Outcome:
        result = runner.invoke(app, ["--database", db_url, *args], input=stdin)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        outcome = Outcome(result.exit_code, result.stdout, result.stderr)
        assert not ANSI.search(outcome.stdout + outcome.stderr), "ANSI codes in plain output"
        return outcome

    return invoke


@pytest.fixture
def orders(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of examples/orders that tests may edit."""
    target = tmp_path / "orders"
    shutil.copytree(EXAMPLES, target)
    return target


@pytest.fixture
def deployed(cli: Cli, orders: pathlib.Path) -> pathlib.Path:
    result = cli("deploy", str(orders))
    assert result.exit_code == 0, result
    return orders
