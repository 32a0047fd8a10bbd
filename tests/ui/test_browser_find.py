"""The Find page in a real browser: the search box answers which executions, steps and
functions handled a value, newest first, with links to them (GET /find underneath)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Page = Any


def test_find_a_customer_and_open_the_step_that_handled_it(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(f"{demo.server.url}/")
    page.get_by_role("link", name="Find", exact=True).click()
    page.wait_for_selector("#find-form")
    # key=value in the box: 42 under customer_id only (the runs of customer 7 and 3 are not).
    page.get_by_label("Value").fill("customer_id=42")
    page.get_by_role("button", name="Find", exact=True).click()
    page.wait_for_url("**/find?value=42&key=customer_id")
    page.wait_for_selector("#found tbody tr")
    ids = page.locator("#found tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert demo.ok in ids and demo.failed not in ids
    assert ids == sorted(ids, reverse=True)  # newest first
    assert page.get_by_label("Found under (parameter or key)").input_value() == "customer_id"

    # A value only a nested step handled ("Ada" is get_customer's output), case-insensitive.
    page.get_by_label("Found under (parameter or key)").fill("")
    page.get_by_label("Value").fill("  ADA ")
    page.get_by_role("button", name="Find", exact=True).click()
    row = page.locator(f"#found tbody tr[data-id='{demo.ok}']")
    row.wait_for()
    where = row.locator(".found-steps").inner_text()
    assert "step 2 get_customer · output name" in where, where
    screenshot(page, "find")
    row.get_by_role("link", name="step 2 get_customer").first.click()
    page.wait_for_url(f"**/executions/{demo.ok}?step=2")
    page.wait_for_selector(".detail-title .name:text-is('get_customer')")

    # Nothing handled it: said so; a value past the API's limits: the API's reason.
    page.goto(f"{demo.server.url}/find?value=grace-never-seen%40example.com")
    page.wait_for_selector("#find-results .empty >> text=No execution handled this value.")
    page.goto(f"{demo.server.url}/find?value={'x' * 300}")
    page.wait_for_selector("#find-results .error-box")


def test_a_redacted_input_is_found_but_never_shown(
    demo: Demo, new_page: Callable[..., Page]
) -> None:
    run = demo.server.run("shouter", {"text": "hi", "token": "Tok-Find-4471"})
    assert run["status"] == "succeeded", run
    page = new_page()
    page.goto(f"{demo.server.url}/find?value=tok-find-4471")
    row = page.locator(f"#found tbody tr[data-id='{run['id']}']")
    row.wait_for()
    assert "Tok-Find" not in page.content()
    where = row.locator(".found-steps").inner_text()
    # the run's input (redacted when stored) and the step's redacted parameter, via the worker
    assert "execution input · input token" in where, where
    assert "step 1 shouter" in where and "input token" in where, where
