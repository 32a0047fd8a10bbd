"""Golden test: the blog example's text tree, exactly, with durations normalized.

The format is fixed by docs/design.md ("Text tree format") and rendered by
``runtree.tracking.render``::

    Execution: calculate_order_total
    ├─ Step: get_customer (completed, 150ms)
    ├─ Step: calculate_discount (completed, 50ms)
    │  └─ Step: apply_promo_code (completed, 30ms)
    └─ Step: calculate_tax (failed, 40ms)
"""

from __future__ import annotations

import re
import textwrap

import pytest

import runtree
from runtree.tracking.render import format_duration

BLOG_SOURCE = textwrap.dedent(
    """
    import time

    CUSTOMERS = {42: {"name": "Ada", "tier": "gold"}}
    PROMOS = {"SPRING": 0.10}
    TAX_RATES = {"gold": 0.08}


    def get_customer(customer_id):
        time.sleep(0.015)
        return CUSTOMERS[customer_id]


    def apply_promo_code(code, subtotal):
        time.sleep(0.003)
        return subtotal * PROMOS.get(code, 0.0)


    def calculate_discount(customer, subtotal, promo_code=None):
        time.sleep(0.002)
        discount = subtotal * 0.05 if customer["tier"] == "gold" else 0.0
        if promo_code:
            discount += apply_promo_code(promo_code, subtotal)
        return round(discount, 2)


    def calculate_tax(customer, amount):
        time.sleep(0.004)
        return round(amount * TAX_RATES[customer["tier"]], 2)


    def calculate_order_total(customer_id, subtotal, promo_code=None):
        customer = get_customer(customer_id)
        discount = calculate_discount(customer, subtotal, promo_code)
        tax = calculate_tax(customer, subtotal - discount)
        return round(subtotal - discount + tax, 2)
    """
)

# A duration as format_duration writes it: 150ms, 1.25s, 5.0ms, 420µs, 800ns (? when unknown).
_DURATION = re.compile(
    r"\((completed|failed|interrupted|running), (?:\d+(?:\.\d+)?(?:ms|s|µs|ns)|\?)\)"
)


def normalize(tree: str) -> str:
    return _DURATION.sub(lambda m: f"({m.group(1)}, <duration>)", tree)


def load_blog() -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "orders"}
    exec(runtree.instrument(BLOG_SOURCE, "orders.py"), namespace)
    return namespace


def test_blog_example_renders_the_golden_tree() -> None:
    orders = load_blog()
    with runtree.record() as rec:
        total = orders["calculate_order_total"](42, 100.0, "SPRING")  # type: ignore[operator]
    assert total == 91.8  # 100 - (5 + 10) discount + 6.8 tax
    rendered = rec.render()
    assert normalize(rendered) == textwrap.dedent(
        """\
        Execution: calculate_order_total
        ├─ Step: get_customer (completed, <duration>)
        ├─ Step: calculate_discount (completed, <duration>)
        │  └─ Step: apply_promo_code (completed, <duration>)
        └─ Step: calculate_tax (completed, <duration>)"""
    )
    # The durations really are the calls' durations (each sleeps at least that long).
    durations = {s.name: s.to_dict()["duration_ns"] for s in rec.steps}
    assert durations["get_customer"] >= 15_000_000
    assert durations["apply_promo_code"] >= 3_000_000
    assert durations["calculate_discount"] >= durations["apply_promo_code"] + 2_000_000
    assert durations["calculate_order_total"] >= sum(
        durations[n] for n in ("get_customer", "calculate_discount", "calculate_tax")
    )
    for step in rec.steps:
        assert (
            f"Step: {step.name} ({step.status}, {format_duration(step.duration_ns)})" in (rendered)
            or step.parent_id is None
        )


def test_blog_example_with_a_failing_tax_step_matches_design_md() -> None:
    orders = load_blog()
    orders["TAX_RATES"] = {}  # calculate_tax now raises KeyError('gold')
    with runtree.record() as rec:
        with pytest.raises(KeyError, match="gold"):
            orders["calculate_order_total"](42, 100.0, "SPRING")  # type: ignore[operator]
    assert normalize(rec.render()) == textwrap.dedent(
        """\
        Execution: calculate_order_total
        ├─ Step: get_customer (completed, <duration>)
        ├─ Step: calculate_discount (completed, <duration>)
        │  └─ Step: apply_promo_code (completed, <duration>)
        └─ Step: calculate_tax (failed, <duration>)"""
    )
    root, tax = rec.steps[0], rec.steps[-1]
    assert (root.name, root.status) == ("calculate_order_total", "failed")
    assert tax.error["type"] == "KeyError"
    assert tax.error["message"] == "'gold'"
    assert [(f["filename"], f["name"], f["line"]) for f in tax.error["traceback"]] == [
        ("orders.py", "calculate_tax", 'return round(amount * TAX_RATES[customer["tier"]], 2)')
    ]


def test_blog_example_without_promo_code_has_no_apply_promo_code_step() -> None:
    orders = load_blog()
    with runtree.record() as rec:
        orders["calculate_order_total"](42, 100.0)  # type: ignore[operator]
    assert normalize(rec.render()) == textwrap.dedent(
        """\
        Execution: calculate_order_total
        ├─ Step: get_customer (completed, <duration>)
        ├─ Step: calculate_discount (completed, <duration>)
        └─ Step: calculate_tax (completed, <duration>)"""
    )


@pytest.mark.parametrize(
    ("duration_ns", "text"),
    [
        (150_000_000, "150ms"),
        (1_250_000_000, "1.25s"),
        (5_000_000, "5.0ms"),
        (420_000, "420µs"),
        (800, "800ns"),
        (None, "?"),
    ],
)
def test_the_duration_normalizer_matches_every_duration_format(duration_ns, text) -> None:
    assert format_duration(duration_ns) == text
    assert normalize(f"Step: x (completed, {text})") == "Step: x (completed, <duration>)"
