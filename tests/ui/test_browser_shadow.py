"""The function page's Shadow tab, in a real browser: a shadow report of the order example's
fix lists each replayed input with its verdict and links, and promotes the version."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import EXAMPLES, Demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NS = "shadowui"


def test_the_shadow_tab_shows_the_report_and_promotes(
    demo: Demo, new_page: Callable[..., Any]
) -> None:
    server = demo.server
    for path in sorted(EXAMPLES.glob("*.py")):
        server.deploy(path.stem, path.read_text(), namespace=NS)
    for customer in (42, 3):
        server.run("calculate_order_total", {"customer_id": customer}, namespace=NS)
    fixed = (EXAMPLES / "fixed" / "get_customer.py").read_text()
    response = server.api.put(
        f"/functions/{NS}/get_customer", json={"code": fixed}, params={"shadow": 5}
    )
    assert response.status_code == 201, response.text
    report = response.json()["shadow_report"]
    deadline = time.monotonic() + 60
    while (
        server.api.get(f"/functions/{NS}/get_customer/shadow-reports/{report}").json()["status"]
        != "finished"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    page = new_page()
    page.goto(f"{server.url}/functions/{NS}/get_customer#shadow")
    card = page.locator(f".shadow-report[data-report='{report}']")
    card.get_by_text("v2 against v1").wait_for()
    card.get_by_text("not clean", exact=True).wait_for()
    rows = card.locator("tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").first.inner_text() == "fixed error"
    assert "KeyError" in rows.nth(0).inner_text() and "Grace" in rows.nth(0).inner_text()
    assert rows.nth(1).locator("td").first.inner_text() == "same"
    compare = rows.nth(0).get_by_role("link", name="compare")
    assert compare.get_attribute("href", timeout=5000).startswith("/compare/")
    page.get_by_text("v2 not current").wait_for()
    card.get_by_role("button", name="Promote v2 anyway").click()
    page.locator(f".shadow-report[data-report='{report}']").get_by_text(
        "promoted: current"
    ).wait_for()
    assert server.api.get(f"/functions/{NS}/get_customer").json()["current_version"] == 2
