"""The compare view, the flame graphs and blame in a real browser against a real server with
real runs of the order example (its own server: these runs would change other pages)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLES, UiServer, browser_skip_reason

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Page = Any
APPLY = "calculate_discount.<locals>.apply_promo_code"
ORIGINAL = (EXAMPLES / "calculate_discount.py").read_text()
SLEEPING = "import time\n\n" + ORIGINAL.replace(
    '        rates = {"SAVE10": 0.10, "SAVE20": 0.20}\n',
    '        time.sleep(0.005)\n        rates = {"SAVE10": 0.10, "SAVE20": 0.20}\n',
)
RUNS = 10


@dataclass
class Runs:
    server: UiServer
    ok: str
    failed: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    if browser_skip_reason():
        pytest.skip(browser_skip_reason() or "")
    server = UiServer(Path(tmp_path_factory.mktemp("ui-compare")))
    try:
        for path in sorted(EXAMPLES.glob("*.py")):
            server.deploy(path.stem, path.read_text())
        ok = server.run("calculate_order_total", {"customer_id": 42})["id"]
        failed = server.run("calculate_order_total", {"customer_id": 3})["id"]
        body = {"customer": {"promo": "SAVE10"}, "subtotal": 100.0}
        for _ in range(RUNS):
            assert server.run("calculate_discount", body)["status"] == "succeeded"
        server.deploy("calculate_discount", SLEEPING)
        for _ in range(RUNS):
            assert server.run("calculate_discount", body)["status"] == "succeeded"
        yield Runs(server, ok, failed)
    finally:
        server.stop()


def test_compare_view_opens_on_the_first_divergence(
    runs: Runs, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(f"{runs.server.url}/executions/{runs.ok}")
    page.get_by_text("Compare with…").click()
    page.locator(f"ul.picker a[href='/compare/{runs.ok}/{runs.failed}']").click()
    page.wait_for_url(re.compile(f"/compare/{runs.ok}/{runs.failed}"))
    page.wait_for_selector(".crow[aria-selected=true]")
    assert page.locator("main").get_attribute("data-page") == "compare"
    names = page.locator(".crow .cname").all_inner_texts()
    assert names == [
        "calculate_order_total",
        "get_customer",
        "calculate_discount",
        "calculate_discount.apply_promo_code",
        "calculate_tax",
    ]
    marks = page.locator(".crow .cmark").all_inner_texts()
    assert marks[0] == "~" and marks[1] == "▶" and marks[2:] == ["−", "−", "−"]
    # opens on get_customer: where b failed and a did not
    assert page.locator(".crow[aria-selected=true] .cname").inner_text() == "get_customer"
    banner = page.locator("#first-divergence").inner_text()
    assert "one run failed here and the other did not" in banner
    assert "calculate_order_total → get_customer" in banner
    detail = page.locator(".compare-detail").inner_text()
    assert "KeyError: 'no customer with id 3'" in detail
    changes = page.locator("#input-changes tbody tr").all_inner_texts()
    assert len(changes) == 1 and "customer_id" in changes[0] and "42" in changes[0]
    assert "3" in changes[0]
    assert "?row=1" in page.url
    screenshot(page, "compare")

    # keyboard: down to a step only in a, then "p" back to the previous difference
    page.locator(".compare-rows").focus()
    page.keyboard.press("ArrowDown")
    assert page.locator(".crow[aria-selected=true] .cname").inner_text() == "calculate_discount"
    assert "only in a" in page.locator(".compare-detail").inner_text()
    page.keyboard.press("p")
    page.keyboard.press("p")
    assert page.locator(".crow[aria-selected=true] .cname").inner_text() == "calculate_order_total"
    # only differences: every row differs here, so nothing is hidden; swap reverses a and b
    page.get_by_text("⇄ Swap").click()
    page.wait_for_url(re.compile(f"/compare/{runs.failed}/{runs.ok}"))
    page.wait_for_selector(".crow[aria-selected=true]")
    assert "error disappeared" in page.locator(".crow[aria-selected=true]").inner_text()


def test_a_run_compared_with_itself(runs: Runs, new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{runs.server.url}/compare/{runs.ok}/{runs.ok}")
    page.wait_for_selector(".crow[aria-selected=true]")
    assert "No differences" in page.locator("#first-divergence").inner_text()
    page.locator("#only-changes").check()
    assert page.locator(".crow").count() == 0


def test_flame_graph_and_differential_flame_graph(
    runs: Runs, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(f"{runs.server.url}/functions/default/calculate_discount?version=2#flame")
    helper = page.locator(f".flame g.node[data-name='{APPLY}']")
    helper.wait_for()
    assert page.locator(".flame g.node").count() == 2
    assert "10 calls in 10 runs" in helper.locator("title").text_content()
    screenshot(page, "flame")
    helper.click()
    assert APPLY in page.locator(".flame-detail").inner_text()
    assert page.locator(".flame g.node").count() == 1  # zoomed into the helper
    page.get_by_role("button", name="Reset zoom").click()
    assert page.locator(".flame g.node").count() == 2

    page.get_by_label("Flame graph kind").select_option("diff")
    page.wait_for_function("location.search.includes('flame=diff&from=1&to=2')")
    graph = page.locator(".flame[aria-label='Differential flame graph']")
    helper = graph.locator(f"g.node[data-name='{APPLY}']")
    helper.wait_for()
    fill = helper.locator("rect").get_attribute("fill")
    red, green, blue = (int(x) for x in re.findall(r"\d+", fill))
    assert red > 200 and green < 120 and blue < 120, fill  # got much slower: red
    title = helper.locator("title").text_content()
    assert "runs 10 / 10" in title and "+" in title
    screenshot(page, "flame-diff")

    # a time range instead of a version: every run of both versions (no bounds given)
    page.get_by_label("Flame graph kind").select_option("range")
    page.wait_for_function("location.search.includes('flame=range')")
    helper = page.locator(f".flame[aria-label='Flame graph'] g.node[data-name='{APPLY}']")
    helper.wait_for()
    assert "20 calls in 20 runs" in helper.locator("title").text_content()
    page.get_by_label("Flame graph kind").select_option("ranges")
    page.get_by_label("New runs since").fill("2100-01-01T00:00")
    page.get_by_label("New runs since").dispatch_event("change")
    page.wait_for_function("location.search.includes('to_since=2100')")
    graph = page.locator(".flame[aria-label='Differential flame graph']")
    graph.locator(f"g.node[data-name='{APPLY}']").wait_for()
    assert "20 → 0 runs" in page.locator(".flame-legend").inner_text()


def test_blame_on_the_stats_tab(
    runs: Runs, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(f"{runs.server.url}/functions/default/calculate_discount?version=2#stats")
    flag = page.locator("#blame .blame-flag")
    flag.wait_for()
    assert flag.count() == 1
    text = flag.inner_text()
    assert "Slower: calculate_discount → apply_promo_code" in text
    assert "+        time.sleep(0.005)" in text
    rows = page.locator("#blame-paths tbody tr").all_inner_texts()
    assert "slower" in rows[0] and "10 / 10" in rows[0]
    flag.scroll_into_view_if_needed()
    screenshot(page, "blame")
    page.get_by_label("Blame from version").select_option("2")
    page.wait_for_selector("#blame .flag-none")
