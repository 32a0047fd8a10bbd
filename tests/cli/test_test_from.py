"""``runtree test-from``: recorded steps of real runs become pytest files, which are run with
pytest in a subprocess -- against the recorded sources, and against changed copies."""

from __future__ import annotations

import ast
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from .conftest import Cli

pytestmark = pytest.mark.slow


def _run(cli: Cli, name: str, **arguments: object) -> str:
    pairs = [f"{key}={json.dumps(value)}" for key, value in arguments.items()]
    ran = cli("run", name, *[a for pair in pairs for a in ("-a", pair)], "--json")
    assert ran.exit_code in (0, 1), ran
    return str(json.loads(ran.stdout)["id"])


def _pytest(directory: pathlib.Path) -> subprocess.CompletedProcess[str]:
    """pytest on ``directory`` in a fresh process where ``import runtree`` fails: the
    generated files must not need it."""
    shadow = directory / "_no_runtree"
    (shadow / "runtree").mkdir(parents=True, exist_ok=True)
    (shadow / "runtree" / "__init__.py").write_text("raise ImportError('runtree is shadowed')\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(directory)],
        capture_output=True,
        text=True,
        cwd=directory,
        env={"PYTHONPATH": str(shadow), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def _case(root: pathlib.Path, name: str, orders: pathlib.Path, text: str) -> pathlib.Path:
    """``root/name/`` with a copy of the functions in ``src/`` and the test file in
    ``test_name.py`` (its SOURCE_DIR is ``src`` next to it)."""
    case = root / name
    shutil.copytree(orders, case / "src")
    (case / f"test_{name}.py").write_text(text)
    return case / "src"


def _imports(text: str) -> set[str]:
    tree = ast.parse(text)
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    return names


def test_a_run_of_the_order_example_passes_recorded_and_fails_readably_when_changed(
    cli: Cli, deployed: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    execution = _run(cli, "calculate_order_total", customer_id=42)
    made = tmp_path / "made" / "test_total.py"
    made.parent.mkdir()
    wrote = cli(
        "test-from", execution[:12], "-o", str(made), "--source-dir", str(made.parent / "src")
    )
    assert wrote.exit_code == 0, wrote
    assert "step 1, 3 stubbed calls" in wrote.stderr
    text = made.read_text()
    assert "SOURCE_DIR = pathlib.Path(__file__).parent / 'src'" in text
    assert not {name for name in _imports(text) if name.startswith("runtree")}
    assert "expected = {'customer': 'Ada', 'subtotal': 100.0, 'tax': 18.9, 'total': 108.9}" in text
    assert "def calculate_order_total(customer_id: int" in text  # the recorded source
    # stdout is the same file
    assert cli("test-from", execution).stdout == text.replace(
        "pathlib.Path(__file__).parent / 'src'", "None"
    )

    cases = tmp_path / "cases"
    _case(cases, "recorded", deployed, text)
    total = _case(cases, "total", deployed, text) / "calculate_order_total.py"
    total.write_text(
        total.read_text().replace("round(discounted + tax, 2)", "round(discounted + tax + 1, 2)")
    )
    order = _case(cases, "order", deployed, text) / "calculate_order_total.py"
    source = order.read_text()
    order.write_text(
        source.replace(
            "    discounted = calculate_discount(customer, subtotal)  # noqa: F821\n", ""
        )
        .replace(
            "    tax = calculate_tax(discounted, ",
            "    tax = calculate_tax(subtotal, ",
        )
        .replace(
            "total = round(discounted",
            "discounted = calculate_discount(customer, subtotal)  # noqa: F821\n"
            "    total = round(discounted",
        )
    )
    argument = _case(cases, "argument", deployed, text) / "calculate_order_total.py"
    argument.write_text(
        argument.read_text().replace("round(sum(items), 2)", "round(sum(items), 1) + 1")
    )
    printed = _case(cases, "printed", deployed, text) / "calculate_order_total.py"
    printed.write_text(printed.read_text().replace("order total for", "total for"))

    ran = _pytest(cases)
    out = ran.stdout
    assert "PASSED recorded/test_recorded.py::test_calculate_order_total_step_1" in out, out
    for name in ("total", "order", "argument", "printed"):
        assert f"FAILED {name}/test_{name}.py::" in out, out
    # readable: pytest's diff of the output, the stub that saw the change, the print
    assert "{'total': 109.9} != {'total': 108.9}" in out
    assert "call 2: the recording called calculate_discount (step 3), not calculate_tax" in out
    assert "call 2, calculate_discount(): argument 'subtotal' differs from step 3" in out
    assert "- order total for Ada: 108.9" in out and "+ total for Ada: 108.9" in out
    assert "1 passed" in out and "4 failed" in out


def test_a_failing_run_pytest_raises_its_error_and_the_stubs_raise_theirs(
    cli: Cli, deployed: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    execution = _run(cli, "calculate_order_total", customer_id=3)
    root = cli("test-from", execution)
    assert root.exit_code == 0, root
    assert "raises=recorded_error(KeyError, 'no customer with id 3')" in root.stdout
    assert "with pytest.raises(KeyError) as raised:" in root.stdout
    failing = cli("test-from", f"{execution}:get_customer")  # by name: its first call
    assert failing.exit_code == 0, failing
    assert "module.get_customer(customer_id=3)" in failing.stdout
    assert "CALLS.expect()  # the recording made no call into another function" in failing.stdout
    by_id = cli("test-from", f"{execution}:2")
    assert by_id.stdout == failing.stdout

    cases = tmp_path / "cases"
    _case(
        cases,
        "root",
        deployed,
        root.stdout.replace(
            "SOURCE_DIR = None", "SOURCE_DIR = pathlib.Path(__file__).parent / 'src'"
        ),
    )
    _case(cases, "failing", deployed, failing.stdout)
    fixed = _case(
        cases,
        "fixed",
        deployed,
        failing.stdout.replace(
            "SOURCE_DIR = None", "SOURCE_DIR = pathlib.Path(__file__).parent / 'src'"
        ),
    )
    customer = fixed / "get_customer.py"
    customer.write_text(
        customer.read_text().replace(
            '        raise KeyError(f"no customer with id {customer_id}")',
            '        return {"id": customer_id, "name": "?", "country": "NL", "promo": None}',
        )
    )
    caught = _case(
        cases,
        "caught",
        deployed,
        root.stdout.replace(
            "SOURCE_DIR = None", "SOURCE_DIR = pathlib.Path(__file__).parent / 'src'"
        ),
    )
    total = caught / "calculate_order_total.py"
    total.write_text(
        total.read_text().replace(
            "    customer = get_customer(customer_id)  # noqa: F821 - another deployed function\n",
            "    try:\n        customer = get_customer(customer_id)  # noqa: F821\n"
            "    except KeyError:\n        return {}\n",
        )
    )
    ran = _pytest(cases)
    out = ran.stdout
    assert "PASSED root/test_root.py" in out and "PASSED failing/test_failing.py" in out, out
    assert "FAILED fixed/test_fixed.py" in out and "FAILED caught/test_caught.py" in out, out
    assert out.count("DID NOT RAISE") >= 2


def test_live_keeps_the_real_calls(
    cli: Cli, deployed: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    execution = _run(cli, "calculate_order_total", customer_id=7)
    live = cli("test-from", execution, "--live")
    assert live.exit_code == 0, live
    text = live.stdout
    for name in ("CALCULATE_ORDER_TOTAL", "GET_CUSTOMER", "CALCULATE_DISCOUNT", "CALCULATE_TAX"):
        assert f"SOURCE_{name} = " in text
    assert "stubs()" not in text and "CALLS" not in text
    assert "Made with: runtree test-from" in text and "--live" in text
    cases = tmp_path / "cases"
    _case(cases, "live", deployed, text)
    tax = (
        _case(
            cases,
            "vat",
            deployed,
            text.replace("SOURCE_DIR = None", "SOURCE_DIR = pathlib.Path(__file__).parent / 'src'"),
        )
        / "calculate_tax.py"
    )
    tax.write_text(tax.read_text().replace('"FI": 0.255', '"FI": 0.24'))
    out = _pytest(cases).stdout
    assert "PASSED live/test_live.py" in out and "FAILED vat/test_vat.py" in out, out
    assert "{'tax': 24.0} != {'tax': 25.5}" in out


SIGN = '''
def sign(payload: str, password: str) -> int:
    """A digest-like number of a payload."""
    return len(payload) + len(password)
'''

THIRD = '''
import fractions


def third(n: int) -> str:
    """A third of n, as text."""
    return as_text(fractions.Fraction(n, 3))


def as_text(value):
    return f"{value.numerator}/{value.denominator}"
'''


AMAIN = '''
async def amain(n: int) -> list:
    """An async entry point calling an async function and helpers of every parameter kind."""
    return [await afetch(n), helper(1, 2, 3, k=4), kinds(1, 2, *[3, 4], c=5, d=6)]


def helper(a, /, *rest, **kw):
    return [a, list(rest), kw]


def kinds(a, b=0, *args, c, d=1, **kw):
    return (a, b, args, c, d, kw)
'''

AFETCH = """
import asyncio


async def afetch(n: int) -> dict:
    await asyncio.sleep(0)
    return {"n": n, "square": n * n}
"""


def test_previews_are_refused_or_marked_xfail_and_pickles_are_decoded_by_the_test(
    cli: Cli, tmp_path: pathlib.Path
) -> None:
    sources = (
        ("sign", SIGN),
        ("third", THIRD),
        ("amain", AMAIN),
        ("afetch", AFETCH),
        ("long_text", "def long_text(n: int) -> str:\n    return 'é' * n\n"),
        ("uses_long_text", "def uses_long_text() -> int:\n    return len(long_text(100_000))\n"),
    )
    for name, source in sources:
        path = tmp_path / "functions" / f"{name}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
    assert cli("deploy", str(tmp_path / "functions")).exit_code == 0
    signed = _run(cli, "sign", payload="x" * 100_000, password="hunter2")
    refused = cli("test-from", signed, "-o", str(tmp_path / "never.py"))
    assert refused.exit_code == 2, refused
    assert (
        "input 'payload' was truncated (over the capture budget, 100,000 bytes)" in refused.stderr
    )
    assert "input 'password' was redacted" in refused.stderr
    assert "xfail" in refused.stderr
    assert not (tmp_path / "never.py").exists()

    cases = tmp_path / "cases"
    (cases / "xfail").mkdir(parents=True)
    marked = cli("test-from", signed, "--xfail", "-o", str(cases / "xfail" / "test_sign.py"))
    assert marked.exit_code == 0, marked
    text = (cases / "xfail" / "test_sign.py").read_text()
    assert "@pytest.mark.xfail(strict=True, reason=" in text
    assert "# TODO input 'password' was redacted" in text

    thirds = _run(cli, "third", n=4)
    helper = cli("test-from", f"{thirds}:as_text", "-o", str(cases / "pickled" / "test_third.py"))
    assert helper.exit_code == 0, helper
    text = (cases / "pickled" / "test_third.py").read_text()
    assert "value=decode('" in text and "expected = '4/3'" in text  # a Fraction: not plain data
    assert "decoded here, in your own process" in text

    run_async = _run(cli, "amain", n=3)
    for spec, expected in (
        ("", "result = asyncio.run(module.amain(n=3))"),  # an async stub answers afetch
        (":helper", "result = module.helper(1, *(2, 3), **{'k': 4})"),
        (":kinds", "result = module.kinds(1, 2, *(3, 4), c=5, d=6, **{})"),
    ):
        name = spec.strip(":") or "amain"
        made = cli("test-from", run_async + spec, "-o", str(cases / "kinds" / f"test_{name}.py"))
        assert made.exit_code == 0, made
        assert expected in (cases / "kinds" / f"test_{name}.py").read_text()

    # an output over the capture budget with its digest: checked by type, length and sha256;
    # returned by a stub it would have to be the value itself
    cut = _run(cli, "long_text", n=100_000)
    made = cli("test-from", cut, "-o", str(cases / "digest" / "test_long_text.py"))
    assert made.exit_code == 0, made
    assert "len(result) == 100000" in (cases / "digest" / "test_long_text.py").read_text()
    refused = cli("test-from", _run(cli, "uses_long_text"))
    assert refused.exit_code == 2, refused
    assert "the output of the call of long_text (step 2) was truncated" in refused.stderr

    out = _pytest(cases).stdout
    assert "XFAIL xfail/test_sign.py" in out and "PASSED pickled/test_third.py" in out, out
    assert "PASSED digest/test_long_text.py" in out, out
    assert "5 passed, 1 xfailed" in out.splitlines()[-1], out


def test_bad_steps_get_clear_errors(cli: Cli, deployed: pathlib.Path) -> None:
    execution = _run(cli, "calculate_order_total", customer_id=42)
    for spec, message in (
        (f"{execution}:99", f"step not found: {execution}:99"),
        (f"{execution}:nothing", "no call of nothing was recorded"),
        (f"{execution}:", "step must be a step id (a number) or the name of a function"),
        (f"{execution}:1;import os", "step must be a step id"),
        (
            f"{execution}:apply_promo_code",
            "is a function defined inside another: a test cannot call it; generate the test "
            "from step 3 (calculate_discount)",
        ),
        ("ffffffff:1", "ffffffff"),
    ):
        result = cli("test-from", spec)
        assert result.exit_code == 2, result
        assert message in result.stderr, result
        assert result.stdout == ""
