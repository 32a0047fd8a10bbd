"""The web UI in a real browser against a real server (see conftest.py for the set-up)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Demo, UiServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Page = Any


def rows(page: Page) -> list[str]:
    """The names in the tree's rendered rows, top to bottom."""
    names: list[str] = page.locator(".tree-row .name").all_inner_texts()
    return names


def open_execution(page: Page, demo: Demo, execution_id: str, query: str = "") -> None:
    page.goto(f"{demo.server.url}/executions/{execution_id}{query}")
    page.wait_for_selector("html[data-tree-ready-ms]", state="attached")


def test_example_execution_shows_the_tree_and_folds(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    open_execution(page, demo, demo.ok)
    expected = [
        "calculate_order_total",
        "get_customer",
        "calculate_discount",
        "calculate_discount.apply_promo_code",
        "calculate_tax",
    ]
    assert rows(page) == expected
    assert page.locator(".page-head .badge").first.inner_text() == "succeeded"
    # the root is selected and its output is shown
    assert page.locator(".tree-row.selected .name").inner_text() == "calculate_order_total"
    page.wait_for_selector("#step-detail .value")
    assert '"total": 108.9' in page.locator("#step-detail").inner_text()
    # values are labelled by type, length and size -- never by how they were serialized
    kinds = page.locator("#step-detail .value-kind").all_inner_texts()
    assert kinds and all("pickle" not in k for k in kinds), kinds
    assert re.fullmatch(r"dict, 4 keys, \d+ B", kinds[-1]), kinds  # the output
    screenshot(page, "execution")

    # collapse and expand with the mouse
    page.locator(".tree-row", has_text="calculate_discount").first.locator(".twisty").click()
    assert rows(page) == expected[:3] + expected[4:]
    page.locator(".tree-row", has_text="calculate_discount").first.locator(".twisty").click()
    assert rows(page) == expected
    page.get_by_role("button", name="Collapse all").click()  # down to the root's children
    assert rows(page) == [
        "calculate_order_total",
        "get_customer",
        "calculate_discount",
        "calculate_tax",
    ]
    page.get_by_role("button", name="Expand all").click()
    assert rows(page) == expected

    # keyboard: arrows move and fold, Enter toggles; the URL follows the selection
    tree = page.locator(".tree-scroll")
    tree.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # collapse the root
    assert rows(page) == ["calculate_order_total"]
    page.keyboard.press("ArrowRight")  # expand it
    page.keyboard.press("ArrowRight")  # into its first child
    assert page.locator(".tree-row.selected .name").inner_text() == "get_customer"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # fold calculate_discount
    assert "calculate_discount.apply_promo_code" not in rows(page)
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    assert page.locator(".tree-row.selected .name").inner_text() == (
        "calculate_discount.apply_promo_code"
    )
    assert re.search(r"[?&]step=4\b", page.url)
    page.wait_for_selector("#step-detail .value >> text=SAVE10")  # its inputs
    # the panel may re-render once more for the same step: let the assertion wait for it
    from playwright.sync_api import expect

    expect(page.locator("#step-detail")).to_contain_text("amount")
    # own time vs children (count() does not wait for a re-render: it raced in CI)
    expect(page.locator("#step-detail .split")).to_have_count(1)

    # deep link to a step
    open_execution(page, demo, demo.ok, "?step=5")
    assert page.locator(".tree-row.selected .name").inner_text() == "calculate_tax"
    page.wait_for_selector("#step-detail .detail-title >> text=calculate_tax")


def test_failing_step_is_selected_with_its_traceback(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    open_execution(page, demo, demo.failed)
    failing = page.locator(".tree-row.failing .name").all_inner_texts()
    assert failing == ["calculate_order_total", "get_customer"]
    assert page.locator(".tree-row.selected .name").inner_text() == "get_customer"
    page.wait_for_selector(".error-block .frame .line.hl-error >> text=raise KeyError")
    detail = page.locator("#step-detail")
    assert "KeyError: 'no customer with id 3'" in detail.locator(".error-title").inner_text()
    frame = detail.locator(".frame").first.inner_text()
    assert "default/get_customer.py:10" in frame and "get_customer" in frame
    # the step's source with the failing line marked, and a link to its version
    page.wait_for_selector(".source-slot .line.hl-error")
    assert "raise KeyError" in page.locator(".source-slot .line.hl-error").inner_text()
    link = detail.get_by_role("link", name="v1").first
    assert link.get_attribute("href").startswith("/functions/default/get_customer?version=1")
    screenshot(page, "failing-step")
    # selecting another step, then the failing one with a click
    page.locator(".tree-row", has_text="calculate_order_total").first.click()
    page.wait_for_selector("#step-detail .detail-title >> text=calculate_order_total")
    page.get_by_role("button", name="Go to failure").click()
    assert page.locator(".tree-row.selected .name").inner_text() == "get_customer"


def test_ten_thousand_steps_open_fast_and_stay_virtual(
    demo: Demo,
    new_page: Callable[..., Page],
    screenshot: Callable[[Page, str], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = new_page()
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        open_execution(page, demo, demo.big)
        wall = (time.perf_counter() - started) * 1000
        in_page = float(page.locator("html").get_attribute("data-tree-ready-ms") or "nan")
        timings.append((wall, in_page))
    with capsys.disabled():
        for wall, in_page in timings:
            print(
                f"\n10,000-step execution: tree ready {in_page:.0f} ms after navigation "
                f"(goto to ready, measured here: {wall:.0f} ms)"
            )
    assert "10,000 steps recorded" in page.locator(".tree-foot").inner_text()
    assert rows(page)[0] == "big_tree"
    rendered = page.locator(".tree-row").count()
    assert 0 < rendered < 200  # only the rows in view exist
    page.get_by_role("button", name="Critical path").click()  # shows where the path ends
    assert page.locator(".tree-row.critical").count() >= 1
    screenshot(page, "ten-thousand-steps")
    # every step can be reached: expand all, jump to the end, scroll back
    page.get_by_role("button", name="Expand all").click()
    page.locator(".tree-scroll").focus()
    page.keyboard.press("End")
    assert page.locator(".tree-row.selected .name").inner_text() == "big_tree_item"
    page.wait_for_selector("#step-detail .detail-title >> text=step 10000")
    assert page.locator(".tree-row").count() < 200
    page.keyboard.press("Home")
    assert page.locator(".tree-row.selected .name").inner_text() == "big_tree"
    assert page.locator(".tree-row.critical").count() >= 1  # the root


def test_diff_between_two_versions(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(f"{demo.server.url}/functions/default/calculate_tax#diff")
    page.wait_for_selector(".diff .line.add")
    removed = page.locator(".diff .line.del").inner_text()
    assert removed.startswith('-VAT = {"NL": 0.21, "FI": 0.255}')
    assert '"DE": 0.19' in page.locator(".diff .line.add").inner_text()
    screenshot(page, "function-diff")
    page.get_by_role("button", name="⇄ Swap").click()
    page.wait_for_function(
        "() => document.querySelector('.diff .line.add') &&"
        " !document.querySelector('.diff .line.add').textContent.includes('DE')"
    )
    assert '"DE": 0.19' in page.locator(".diff .line.del").inner_text()
    # the source tab shows line numbers and highlights a requested line
    page.goto(f"{demo.server.url}/functions/default/calculate_tax?version=1&line=6#source")
    page.wait_for_selector("#L6.hl")
    assert "return round" in page.locator("#L6").inner_text()


def test_run_a_function_from_its_form(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(f"{demo.server.url}/functions/default/calculate_order_total#run")
    form = page.locator("form.run-form")
    form.wait_for()
    assert form.locator("#param-customer_id").get_attribute("type") == "number"
    assert form.locator(".field", has_text="items").locator("textarea").count() == 1
    problem = form.locator(".field", has_text="customer_id").locator(".problem")
    form.get_by_role("button", name="Run").click()  # customer_id is required
    assert problem.inner_text() == "required"
    form.locator("#param-customer_id").fill("7")
    assert problem.inner_text() == ""
    form.locator("#param-items").fill("[10, 20.5]")
    screenshot(page, "function-run")
    form.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/executions/[0-9a-f]{32}$"))
    # the page follows the run until it ends
    page.wait_for_selector(".page-head .badge.s-succeeded", timeout=30_000)
    page.wait_for_selector(".tree-row >> text=calculate_tax")
    page.locator("details", has_text="Input").first.locator("summary").click()
    assert '"items"' in page.locator(".exec-head").inner_text()


def test_executions_list_filters_searches_and_updates_live(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(demo.server.url + "/")
    page.wait_for_selector(f"#executions tr[data-id='{demo.failed}']")
    screenshot(page, "executions")
    page.locator("select[name=status]").select_option("failed")
    page.wait_for_url(re.compile(r"status=failed"))
    page.wait_for_function(
        "() => { const r = [...document.querySelectorAll('#executions tbody tr')];"
        " return r.length > 0 && r.every(x => x.dataset.status === 'failed'); }"
    )
    page.goto(demo.server.url + "/?q=customer_id%3D3")
    page.wait_for_selector(f"#executions tr[data-id='{demo.failed}']")
    assert page.locator("#executions tbody tr").count() == 1
    # a new search typed in the form looks at the last 30 days unless a start is given
    page.goto(demo.server.url + "/")
    page.locator("input[name=q]").fill("customer_id=3")
    page.locator("input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r"q=customer_id.*since=|since=.*q=customer_id"))
    page.wait_for_selector(f"#executions tr[data-id='{demo.failed}']")
    assert page.locator("input[name=since]").input_value() != ""
    # a run started elsewhere appears, runs, and finishes without a reload
    page.goto(demo.server.url + "/?function=default%2Fsleeper")
    page.wait_for_selector("#executions .empty")
    started = demo.server.run("sleeper", {"seconds": 2.5}, wait=False)["id"]
    row = page.locator(f"#executions tr[data-id='{started}']")
    row.wait_for(timeout=10_000)
    page.wait_for_selector(
        f"#executions tr[data-id='{started}'][data-status='succeeded']", timeout=20_000
    )
    row.locator("td").nth(5).click()  # anywhere but a link: opens the execution
    page.wait_for_url(re.compile(started))


def test_recorded_data_is_shown_as_text_never_as_html(
    demo: Demo, new_page: Callable[..., Page]
) -> None:
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    run = demo.server.run("shouter", {"text": payload, "token": "s3cret", "size": 100_000})
    page = new_page()
    open_execution(page, demo, run["id"])
    page.wait_for_selector("#step-detail pre.stdout")
    page.locator("details", has_text="Input").first.locator("summary").click()
    assert payload in page.locator("#step-detail pre.stdout").inner_text()
    assert payload in page.locator("#step-detail").inner_text()
    assert page.locator("main img, main script").count() == 0
    assert page.locator("main b", has_text="bold?").count() == 0
    assert '"<b>bold?</b>"' in page.locator("#step-detail").inner_text()
    assert page.evaluate("() => window.__pwned") is None
    # a secret parameter is redacted in the step before it is stored, and the mark says so
    token = page.locator("#step-detail .value", has_text="token")
    assert "redacted" in token.locator(".mark").inner_text()
    assert "s3cret" not in token.inner_text()
    # an output over the capture budget is marked truncated: a dict's size is known only up
    # to where capture stopped, and the label says so
    output = page.locator("#step-detail .value").last
    assert output.locator(".value-kind").inner_text() == "dict, 3 keys"
    assert re.fullmatch(
        r"truncated · more than \d+\.\d KiB", output.locator(".mark").first.inner_text()
    )
    assert "more than 65,536 bytes serialized" in output.inner_text()
    assert "sha256" not in output.inner_text()  # never the digest of a prefix


def test_functions_page_narrow_and_dark(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page(width=1200, height=700)
    page.goto(demo.server.url + "/functions")
    page.wait_for_selector("#functions")
    text = page.locator("#functions").inner_text()
    assert "default/calculate_order_total" in text and "v2" in text
    # runs as the entry point and calls as a step, apart; descriptions from docstrings
    customer = page.locator("#functions tbody tr", has_text="default/get_customer")
    assert customer.locator("td.runs").inner_text() == "0"
    assert int(customer.locator("td.step-calls").inner_text()) >= 3
    assert "only as a step" in customer.inner_text()
    assert "Look a customer up" in customer.inner_text()
    total = page.locator("#functions tbody tr", has_text="default/calculate_order_total")
    assert int(total.locator("td.runs").inner_text()) >= 3
    assert total.locator("td.step-calls").inner_text() == "0"
    screenshot(page, "functions")
    page.goto(f"{demo.server.url}/functions/default/calculate_order_total#stats")
    page.wait_for_selector("#slowest-steps")
    assert "calculate_order_total" in page.locator("#slowest-steps").inner_text()
    assert page.locator("#version-stats tbody tr").count() >= 1
    screenshot(page, "function-stats")

    narrow = new_page(width=390, height=800, dark=True)
    open_execution(narrow, demo, demo.failed)
    overflow = narrow.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    background = narrow.evaluate("() => getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
    assert max(channels) < 80, background  # the dark theme
    assert narrow.locator(".tree-row.failing").count() == 2
    screenshot(narrow, "execution-narrow-dark")


def test_asks_for_an_api_key_when_the_server_wants_one(
    tmp_path: Any, new_page: Callable[..., Page]
) -> None:
    server = UiServer(tmp_path, auth=True, workers=1)
    try:
        server.deploy("hello", "def hello(name: str = 'ada'):\n    return name\n")
        page = new_page()
        page.goto(server.url + "/functions")
        dialog = page.locator("dialog.login")
        dialog.wait_for()
        # it names the file the admin key was saved to, and how to make another key
        assert dialog.locator(".key-file").inner_text() == f"cat {server.key_file.name}"
        assert "runtree keys create --role viewer" in dialog.inner_text()
        dialog.locator("input").fill("rtk_wrong")
        dialog.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("dialog.login >> text=not accepted")
        page.locator("dialog.login input").fill(server.admin_key())
        page.locator("dialog.login").get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#functions >> text=default/hello")
        page.reload()  # the key is kept for this tab
        page.wait_for_selector("#functions >> text=default/hello")
        assert page.locator("dialog.login").count() == 0
        page.get_by_role("button", name="Sign out").click()
        page.locator("dialog.login").wait_for()
    finally:
        server.stop()


DEEP = '''
def deep(n: int = 250) -> int:
    """Recursion 250 calls deep."""
    return 0 if n == 0 else 1 + deep(n - 1)
'''


def test_a_tree_250_deep_keeps_its_names_readable(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    demo.server.deploy("deep", DEEP)
    run = demo.server.run("deep", {"n": 250})
    assert run["status"] == "succeeded", run
    page = new_page(width=1200, height=800)
    open_execution(page, demo, run["id"])
    page.locator(".tree-scroll").focus()
    page.keyboard.press("End")  # the deepest call, depth 250
    row = page.locator(".tree-row.selected")
    assert row.get_attribute("aria-level") == "251"
    assert row.locator(".depth-mark").inner_text() == "250"
    name = row.locator(".name")
    assert name.inner_text() == "deep"
    # the whole name is shown: nothing cut with an ellipsis, and the cell did not run out
    assert name.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert name.evaluate("e => e.getBoundingClientRect().width") > 25

    # the name starts where it does at depth 12 and 20: the indentation stops growing
    def name_left() -> float:
        selected = page.locator(".tree-row.selected .name")
        return float(selected.evaluate("e => e.getBoundingClientRect().left"))

    deepest = name_left()
    page.keyboard.press("Home")
    lefts = {}
    for level in range(1, 21):
        page.keyboard.press("ArrowDown")
        lefts[level] = name_left()
    assert page.locator(".tree-row.selected").get_attribute("aria-level") == "21"
    assert lefts[11] < lefts[12] == lefts[13] == lefts[20] == deepest
    page.wait_for_selector("#step-detail .value")
    screenshot(page, "deep-tree")
