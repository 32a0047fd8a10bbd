"""Bad code is refused with a position; analyze() reports what pyflakes finds."""

from __future__ import annotations

import pytest

import runtree
from runtree import InstrumentError


@pytest.mark.parametrize(
    ("source", "lineno", "col"),
    [
        ("def f(:\n    pass\n", 1, 7),
        ("x = 1\ny = (\n", 2, 5),
        ("def f():\n    return 1\n  return 2\n", 3, 11),
        ("return 5\n", 1, 1),  # found by the compiler, not the parser
        ("def f():\n    nonlocal x\n", 2, 5),
        ("x = 1\nawait x\n", 2, 1),
    ],
)
def test_syntax_errors_name_line_and_column(source: str, lineno: int, col: int) -> None:
    with pytest.raises(InstrumentError) as caught:
        runtree.instrument(source, "bad.py")
    assert (caught.value.lineno, caught.value.col) == (lineno, col)
    assert caught.value.msg
    assert not isinstance(caught.value, SyntaxError)


def test_null_byte_is_located() -> None:
    with pytest.raises(InstrumentError) as caught:
        runtree.instrument("x = 1\ny = '\0'\n", "nul.py")
    assert (caught.value.lineno, caught.value.col) == (2, 6)
    assert "null byte" in caught.value.msg


def test_lone_surrogate_is_located() -> None:
    with pytest.raises(InstrumentError) as caught:
        runtree.instrument("x = 1\ny = '\ud800'\n", "surrogate.py")
    assert (caught.value.lineno, caught.value.col) == (2, 6)
    assert "not valid Unicode" in caught.value.msg


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "(" * 5000 + ")" * 5000 + "\n",
        "x = " + "[" * 300 + "]" * 300 + "\n",
        "x = " + "-" * 100_000 + "1\n",
        "def f():\n"
        + "".join("    " * i + "if x:\n" for i in range(1, 120))
        + "    " * 120
        + "pass\n",
    ],
)
def test_absurd_nesting_is_an_instrument_error_not_a_crash(source: str) -> None:
    try:
        runtree.instrument(source, "deep.py")
    except InstrumentError as error:
        assert error.lineno >= 1 and error.col >= 1
    # Compiling successfully is fine too: the point is no RecursionError/MemoryError/crash.


def test_error_message_mentions_position() -> None:
    with pytest.raises(InstrumentError, match=r"line 1, column 7"):
        runtree.instrument("def f(:\n    pass\n", "bad.py")


def test_source_must_be_text() -> None:
    with pytest.raises(TypeError, match="source must be str"):
        runtree.instrument(b"x = 1", "bytes.py")  # type: ignore[arg-type]


BLOG = """
def calculate_order_total(customer_id):
    customer = get_customer(customer_id)
    discount = calculate_discount(customer, order)
    return apply_tax(discount)

def helper():
    import os
    return 1
"""


def test_analyze_reports_undefined_names_and_free_names() -> None:
    analysis = runtree.analyze(BLOG)
    undefined = {w.message for w in analysis.warnings if w.kind == "UndefinedName"}
    assert "undefined name 'order'" in undefined
    order = next(w for w in analysis.warnings if "'order'" in w.message)
    assert (order.lineno, order.col) == (4, 45)
    assert analysis.free_names == ("get_customer", "calculate_discount", "order", "apply_tax")
    assert analysis.functions == ("calculate_order_total", "helper")
    assert any(w.kind == "UnusedImport" and w.lineno == 8 for w in analysis.warnings)


def test_analyze_ignores_builtins_and_local_definitions() -> None:
    analysis = runtree.analyze("def f(x):\n    return len(x) + g(x)\n\ndef g(y):\n    return y\n")
    assert analysis.free_names == ()
    assert analysis.warnings == ()
    assert analysis.functions == ("f", "g")


def test_analyze_rejects_bad_syntax_with_position() -> None:
    with pytest.raises(InstrumentError) as caught:
        runtree.analyze("def f(:\n")
    assert caught.value.lineno == 1
