"""Pieces of the presentation: the coloured tree keeps the plain text tree's layout;
signatures, names, and JSON documents in the HTTP API's shape."""

from __future__ import annotations

import datetime
import importlib.util
import io
import json
import pathlib
from typing import Any

import pytest
from rich.console import Console

from runtree.cli.errors import CliError
from runtree.cli.names import normalize_id, parse_function
from runtree.cli.views import print_execution, signature_text, tree_lines
from runtree.instrument import parse
from runtree.instrument.signature import entry_signature
from runtree.models import ExecutionRecord, ExecutionStatus, StepRecord, Trigger
from runtree.service import InvalidName, render_steps

from .conftest import Cli


def step(
    id: int, parent: int | None, name: str, status: str = "completed", **extra: Any
) -> StepRecord:
    fields: dict[str, Any] = {
        "execution_id": "e" * 32,
        "id": id,
        "parent_id": parent,
        "sequence": id,
        "depth": 0,
        "name": name,
        "filename": None,
        "lineno": None,
        "function": None,
        "version": None,
        "status": status,
        "started_at_ns": 0,
        "duration_ns": 1_500_000 * id,
        "inputs": {},
        "output": None,
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }
    fields.update(extra)
    return StepRecord(**fields)


STEPS = [
    step(1, None, "main", "failed"),
    step(2, 1, "load"),
    step(
        3,
        2,
        "main.<locals>.parse",
        aggregates=[
            {"name": "tokenize", "count": 12000, "total_ns": 3_000_000, "errors": 1},
        ],
    ),
    step(4, 1, "Store.save", "interrupted"),
    step(
        5,
        4,
        "retry",
        "failed",
        aggregates=[
            {"name": "ping", "count": 3, "total_ns": 10, "errors": 0},
            {"name": "pong", "count": 2, "total_ns": 10, "errors": 2},
        ],
    ),
]


def test_coloured_tree_has_the_text_tree_layout() -> None:
    assert "\n".join(line.plain for line in tree_lines(STEPS)) == render_steps(STEPS)
    assert tree_lines([]) == []


def test_statuses_are_coloured_on_a_terminal() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=120)
    for line in tree_lines(STEPS):
        console.print(line)
    text = buffer.getvalue()
    assert "\x1b[31mfailed" in text  # red
    assert "\x1b[32mcompleted" in text  # green
    assert "\x1b[33minterrupted" in text  # yellow


def test_user_text_is_never_rich_markup() -> None:
    now = datetime.datetime.now(datetime.UTC)
    execution = ExecutionRecord(
        id="a" * 32,
        function_id=1,
        version_id=1,
        namespace="default",
        name="f",
        version=1,
        trigger=Trigger.CLI,
        status=ExecutionStatus.FAILED,
        input={"x": "[bold]"},
        output=None,
        error={
            "type": "ValueError",
            "message": "[/] [red]not markup[/red] :smile:",
            "traceback": [],
        },
        versions={"f": 1},
        queued_at=now,
        started_at=now,
        finished_at=now,
        duration_ms=3,
        cancel_requested=False,
        worker_id=None,
        replay_of=None,
    )
    buffer = io.StringIO()
    print_execution(
        Console(file=buffer, width=200),
        execution,
        [step(1, None, "f", "failed", stdout="[b]printed[/b]\n")],
    )
    out = buffer.getvalue()
    assert "Error: ValueError: [/] [red]not markup[/red] :smile:" in out
    assert '  input     {"x": "[bold]"}' in out
    assert "  f: [b]printed[/b]" in out


def test_signature_text() -> None:
    source = (
        "async def f(a, b: int = 2, /, c=3, *args: str, d, e: 'x' = None, **kw) -> None:\n"
        "    pass\n"
    )
    signature = entry_signature(parse(source, "f.py"), "f", source).to_dict()
    assert signature_text(signature) == (
        "async f(a, b: int = 2, /, c=3, *args: str, d, e: 'x' = None, **kw)"
    )
    source = "def g(x, *, y):\n    pass\n"
    assert signature_text(entry_signature(parse(source, "g.py"), "g", source).to_dict()) == (
        "g(x, *, y)"
    )


def test_function_names() -> None:
    assert parse_function("get_customer") == ("default", "get_customer")
    assert parse_function("shop/get_customer") == ("shop", "get_customer")
    for text in ("a/b/c", "/x", "shop/", "bad-name", "class"):
        with pytest.raises((CliError, InvalidName)):
            parse_function(text)


def test_execution_ids() -> None:
    assert normalize_id(" 0190ABCD-ef ") == "0190abcdef"
    for text in ("", "xyz", "0" * 33):
        with pytest.raises(CliError):
            normalize_id(text)


@pytest.mark.skipif(
    importlib.util.find_spec("runtree.api.schemas") is None, reason="runtree.api is not built yet"
)
@pytest.mark.slow
def test_show_json_has_the_http_api_shape(cli: Cli, deployed: pathlib.Path) -> None:
    from runtree.api.schemas import ExecutionDetail

    result = cli("run", "calculate_order_total", "-a", "customer_id=3", "--json")
    document = json.loads(result.stdout)
    api = ExecutionDetail.model_validate(document).model_dump(mode="json")
    assert set(document) == set(api)
    assert [s["name"] for s in document["steps"]] == [s["name"] for s in api["steps"]]
