"""``runtree run`` and ``runtree cancel``: exit codes, the rendered execution, input errors."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

from .conftest import Cli

ID = re.compile(r"^Execution ([0-9a-f]{32})$", re.MULTILINE)


def execution_id(output: str) -> str:
    found = ID.search(output)
    assert found, output
    return found.group(1)


def queued(cli: Cli) -> list[dict[str, object]]:
    result = cli("executions", "--json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


@pytest.mark.slow
def test_quickstart(cli: Cli, orders: pathlib.Path) -> None:
    assert cli("deploy", str(orders)).stdout.count("v1 (new)") == 4
    assert cli("deploy", str(orders)).stdout.count("v1 (unchanged)") == 4

    ok = cli("run", "calculate_order_total", "-a", "customer_id=42")
    assert ok.exit_code == 0, ok
    lines = ok.stdout.splitlines()
    assert "  function  default/calculate_order_total v1" in lines
    assert '  input     {"customer_id": 42}' in lines
    tree = [line for line in lines if line.startswith(("Execution:", "├─", "│", "└─"))]
    assert [re.sub(r", [0-9.]+(?:s|ms|µs|ns)\)$", ")", line) for line in tree] == [
        "Execution: calculate_order_total",
        "├─ Step: get_customer (completed)",
        "├─ Step: calculate_discount (completed)",
        "│  └─ Step: apply_promo_code (completed)",
        "└─ Step: calculate_tax (completed)",
    ]
    output = ok.stdout[ok.stdout.index("\nOutput\n") + len("\nOutput\n") :]
    assert json.loads(output) == {
        "customer": "Ada",
        "subtotal": 100.0,
        "tax": 18.9,
        "total": 108.9,
    }
    assert "  calculate_order_total: order total for Ada: 108.9" in lines
    ok_id = execution_id(ok.stdout)
    # the same tree, character for character, as the plain `runtree tree`
    assert cli("tree", ok_id).stdout.splitlines() == tree

    failed = cli("run", "default/calculate_order_total", "--input", '{"customer_id": 3}')
    assert failed.exit_code == 1, failed
    out = failed.stdout
    assert "  status    failed in " in out
    assert "└─ Step: get_customer (failed, " in out
    assert "Error: KeyError: 'no customer with id 3'" in out
    assert "Failing path: calculate_order_total → get_customer" in out
    error = out[out.index("Error: ") :]
    assert error.splitlines()[2:] == [
        "Traceback (most recent call last):",  # the whole chain, outermost call first
        "  default/calculate_order_total.py:7 in calculate_order_total",
        "    customer = get_customer(customer_id)  # noqa: F821 - another deployed function",
        "  default/get_customer.py:10 in get_customer",
        '    raise KeyError(f"no customer with id {customer_id}")',
        "Failing step: get_customer (default/get_customer v1), with inputs",
        "  customer_id = 3",
    ]
    assert "Traceback" not in failed.stderr

    failed_id = execution_id(failed.stdout)
    shown = cli("show", failed_id[:20])
    assert shown.exit_code == 0, shown
    assert shown.stdout == failed.stdout
    document = json.loads(cli("show", failed_id, "--json").stdout)
    assert document["id"] == failed_id
    assert document["status"] == "failed"
    assert document["error"]["type"] == "KeyError"
    assert [(s["name"], s["parent_id"], s["status"]) for s in document["steps"]] == [
        ("calculate_order_total", None, "failed"),
        ("get_customer", 1, "failed"),
    ]
    assert "blob" not in json.dumps(document)

    as_json = cli("run", "calculate_order_total", "-a", "customer_id=7", "--json")
    assert as_json.exit_code == 0, as_json
    document = json.loads(as_json.stdout)
    assert document["status"] == "succeeded"
    assert document["output"]["total"] == 125.5
    assert document["trigger"] == "cli"

    listing = cli("executions", "--function", "calculate_order_total").stdout
    assert all(i in listing for i in (ok_id, failed_id))
    only_failed = cli("executions", "--status", "failed").stdout
    assert failed_id in only_failed and ok_id not in only_failed
    functions = cli("functions").stdout
    assert re.search(r"default/calculate_order_total\s+v1\s+3\s+succeeded", functions)


@pytest.mark.slow
def test_timeouts_and_untracked_functions(cli: Cli, tmp_path: pathlib.Path) -> None:
    (tmp_path / "sleepy.py").write_text(
        "import time\n\ndef sleepy(seconds: float):\n    time.sleep(seconds)\n    return seconds\n"
    )
    assert cli("deploy", str(tmp_path / "sleepy.py"), "--timeout", "0.5").exit_code == 0
    slow = cli("run", "sleepy", "-a", "seconds=30")
    assert slow.exit_code == 1, slow
    assert "timed_out" in slow.stdout
    assert "Error: TimeoutError: the execution exceeded its time limit" in slow.stdout

    (tmp_path / "quiet.py").write_text("def quiet(x: int) -> int:\n    return x + 1\n")
    assert cli("deploy", str(tmp_path / "quiet.py"), "--no-tracking").exit_code == 0
    quiet = cli("run", "quiet", "-a", "x=1")
    assert quiet.exit_code == 0, quiet
    assert "(no steps recorded)" in quiet.stdout
    assert quiet.stdout.rstrip().endswith("Output\n2")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ([], "  customer_id: missing required parameter"),
        (["-a", "customer_id=42", "-a", "colour=red"], "  colour: unknown parameter"),
        (["-a", "customer_id=forty-two"], "  customer_id: Input should be a valid integer"),
        (["--input", '{"customer_id": "42"}'], "  customer_id: Input should be a valid integer"),
        (["--input", "[42]"], "  input: must be a JSON object of parameter names"),
        (["-a", "customer_id"], "  customer_id: expected key=value"),
    ],
)
def test_input_errors_exit_2_and_queue_nothing(
    cli: Cli, deployed: pathlib.Path, args: list[str], problem: str
) -> None:
    result = cli("run", "calculate_order_total", *args)
    assert result.exit_code == 2, result
    assert problem in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert queued(cli) == []


def test_inputs_nested_past_the_limit_exit_2_naming_it(cli: Cli, deployed: pathlib.Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000  # too deep even for the JSON parser
    for args in (
        ["--input", '{"customer_id": ' + deep + "}"],
        ["--input", '{"customer_id": ' + "[" * 70 + "]" * 70 + "}"],
        ["-a", "customer_id=" + deep],
        ["-a", "customer_id=" + "[" * 70 + "]" * 70],
    ):
        result = cli("run", "calculate_order_total", *args)
        assert result.exit_code == 2, result
        assert "nests deeper than 64 levels" in result.stderr, result
        assert "Traceback" not in result.stderr
    assert queued(cli) == []


def test_input_error_shows_the_expected_signature(cli: Cli, deployed: pathlib.Path) -> None:
    result = cli("run", "calculate_order_total")
    assert result.stderr.splitlines() == [
        "error: invalid input for default/calculate_order_total:",
        "  customer_id: missing required parameter",
        "  expected: calculate_order_total(customer_id: int, items: list[float] | None = None)",
    ]


def test_usage_errors_of_run(cli: Cli, deployed: pathlib.Path, tmp_path: pathlib.Path) -> None:
    (tmp_path / "input.json").write_text('{"customer_id": 42}')
    cases = [
        (["nope"], "error: no function default/nope (see `runtree functions`)"),
        (["calculate_order_totl"], "did you mean: default/calculate_order_total"),
        (["calculate_order_total", "--at-version", "9"], "has no version 9 (the latest is v1)"),
        (["calculate_order_total", "--input", "{"], "--input is not valid JSON"),
        (["calculate_order_total", "-i", "@missing.json"], "--input @missing.json: cannot read"),
        (["calculate_order_total", "--input", "7", "-a", "x=1"], "must be a JSON object"),
        (["a/b/c"], "invalid function 'a/b/c'"),
        (["no-such"], "invalid name 'no-such'"),
    ]
    for args, message in cases:
        result = cli("run", *args)
        assert result.exit_code == 2, result
        assert message in result.stderr, result
    assert queued(cli) == []


def test_input_from_a_file_and_from_stdin_with_pairs_on_top(
    cli: Cli, deployed: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "input.json"
    path.write_text('{"customer_id": 42, "items": [1.5]}')
    first = cli("run", "calculate_order_total", "--input", f"@{path}", "--no-wait", "--json")
    second = cli(
        "run",
        "calculate_order_total",
        "--input",
        "-",
        "-a",
        "customer_id=7",
        "--no-wait",
        stdin='{"customer_id": 42}',
    )
    assert first.exit_code == 0 and second.exit_code == 0, (first, second)
    inputs = [e["input"] for e in queued(cli)]
    assert inputs == [{"customer_id": 7}, {"customer_id": 42, "items": [1.5]}]


def test_no_wait_then_cancel(cli: Cli, deployed: pathlib.Path) -> None:
    result = cli("run", "calculate_order_total", "-a", "customer_id=42", "--no-wait")
    assert result.exit_code == 0, result
    queued_id = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", queued_id)
    assert "runtree serve" in result.stderr
    shown = cli("show", queued_id)
    assert "  status    queued" in shown.stdout
    assert "(no steps yet: the execution is queued)" in shown.stdout

    cancelled = cli("cancel", queued_id[:16])
    assert cancelled.exit_code == 0, cancelled
    assert cancelled.stdout.strip() == f"{queued_id}: cancelled"
    document = json.loads(cli("show", queued_id, "--json").stdout)
    assert document["status"] == "cancelled"
    assert document["steps"] == []
    again = cli("cancel", queued_id)
    assert again.exit_code == 0
    assert again.stdout.strip() == f"{queued_id}: already cancelled; nothing to cancel"
    assert "Error: Cancelled: " in cli("show", queued_id).stdout


def test_no_wait_json(cli: Cli, deployed: pathlib.Path) -> None:
    result = cli("run", "calculate_order_total", "-a", "customer_id=42", "--no-wait", "--json")
    document = json.loads(result.stdout)
    assert document["status"] == "queued"
    assert [e["id"] for e in queued(cli)] == [document["id"]]
