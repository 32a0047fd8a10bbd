"""The web UI's pages for webhooks and their deliveries (the 3 AM story), schedules, API keys
and the audit log, in a real browser against a real server (see conftest.py)."""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from runtree.store.schema import ScheduleRow

from .conftest import Demo, Story, UiServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Page = Any


def test_the_3am_story_a_failed_delivery_replayed_against_the_fix(
    story: Story, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    url = story.demo.server.url
    page = new_page()
    page.goto(url + "/webhooks")
    row = page.locator("#webhooks tr[data-path='github-push']")
    row.wait_for()
    assert "default/on_push" in row.inner_text() and "github" in row.inner_text()
    screenshot(page, "webhooks")

    row.get_by_role("link", name="/hooks/github-push").click()
    page.wait_for_url(re.compile(r"/webhooks/github-push$"))
    page.wait_for_selector("#deliveries tbody tr[data-id]")
    rows = page.locator("#deliveries tbody tr")
    assert [rows.nth(i).get_attribute("data-status") for i in range(rows.count())] == [
        "accepted",
        "rejected",
    ]
    # the rejected one says why; the accepted one links its failed execution
    assert "X-Hub-Signature-256 does not match the body" in rows.nth(1).inner_text()
    accepted = rows.nth(0)
    assert accepted.get_attribute("data-execution-status") == "failed"
    assert accepted.locator(f"a[href='/executions/{story.execution}']").count() == 1

    accepted.locator("td").first.click()
    detail = page.locator("#delivery-detail")
    detail.locator(".replay-form").wait_for()
    assert re.search(r"[?&]delivery=[0-9a-f]{32}", page.url)
    text = detail.inner_text()
    assert "72d3162e-cc78-11e3-81ab-4c9367dc0958" in text  # the idempotency key
    # times are shown with their zone (the API's are UTC, "Z")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (UTC|GMT)\b", text), text
    assert "Grace Hopper" in text  # the body, as JSON
    assert detail.locator("dd.signature").inner_text() == "verified (github)"
    signature = detail.locator("table.headers tr", has_text="x-hub-signature-256")
    assert signature.locator("td").nth(1).inner_text() == "[redacted]"
    choice = detail.locator("select[name=version]")
    assert choice.input_value() == "2"  # the fix, deployed since
    assert choice.locator("option").all_inner_texts() == ["v2 (latest)", "v1 (ran it)"]
    screenshot(page, "webhook-deliveries")

    # its execution shows the failing step
    detail.locator(".started").get_by_role("link", name="default/on_push v1").click()
    page.wait_for_selector("html[data-tree-ready-ms]", state="attached")
    assert page.locator(".tree-row.failing .name").all_inner_texts() == [
        "on_push",
        "summarize",
        "author_of",
    ]
    assert page.locator(".tree-row.selected .name").inner_text() == "author_of"
    page.wait_for_selector("#step-detail .error-title >> text=KeyError: 'username'")
    # and links back to the delivery it came from
    back = page.locator(".exec-meta a.delivery-link")
    back.wait_for()
    assert back.inner_text().endswith("on /hooks/github-push")
    back.click()
    page.wait_for_url(re.compile(r"/webhooks/github-push\?delivery=[0-9a-f]{32}$"))
    detail.locator(".replay-form").wait_for()
    rows.nth(1).locator("td").first.click()  # the forged one
    page.wait_for_selector("#delivery-detail dd.signature >> text=failed (see the reason)")
    assert "nothing ran" in rows.nth(1).inner_text()
    rows.nth(0).locator("td").first.click()

    # replayed against the fix: the replay is listed and succeeds
    detail.locator(".replay-form").wait_for()
    detail.get_by_role("button", name="Replay").click()
    replay = detail.locator(".replays li").first
    replay.wait_for()
    page.wait_for_selector("#delivery-detail .replays li[data-status='succeeded']", timeout=30_000)
    assert "v2" in replay.inner_text()
    screenshot(page, "webhook-replayed")
    replay.get_by_role("link", name=re.compile(r"^v2 ")).click()
    page.wait_for_selector(".page-head .badge.s-succeeded")
    page.wait_for_selector("#step-detail .value >> text=Grace Hopper")


def test_schedules_show_next_fire_times_in_their_zone_and_late_runs(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    server = demo.server
    every5 = server.api.post(
        "/schedules",
        json={
            "function": "calculate_order_total",
            "cron": "*/5 * * * *",
            "timezone": "America/New_York",
            "input": {"customer_id": 42},
        },
    ).json()
    mornings = server.api.post(
        "/schedules",
        json={
            "function": "calculate_tax",
            "cron": "30 9 * * 1-5",
            "timezone": "Asia/Tokyo",
            "input": {"amount": 100, "country": "NL"},
        },
    ).json()
    server.api.post(f"/schedules/{mornings['id']}/resume")
    # As if the server had been down for the last three fire times: it fires the latest,
    # late, with two missed.
    now = datetime.datetime.now(datetime.UTC).replace(second=0, microsecond=0)
    due = now - datetime.timedelta(minutes=now.minute % 5 + 10)
    engine = create_engine(f"sqlite:///{server.directory / 'runtree.db'}")
    with engine.begin() as connection:
        connection.execute(
            update(ScheduleRow).where(ScheduleRow.id == every5["id"]).values(next_fire_at=due)
        )
    engine.dispose()
    deadline = time.monotonic() + 30
    while not server.api.get(f"/schedules/{every5['id']}").json()["fires"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    page = new_page()
    page.goto(server.url + "/schedules")
    row = page.locator(f"#schedules tr[data-id='{every5['id']}']")
    row.wait_for()
    assert "Every fifth minute" in row.inner_text() or "*/5 * * * *" in row.inner_text()
    assert "America/New_York" in row.inner_text()
    fires = row.locator("td").nth(2).locator("li")
    assert fires.count() == 5
    assert re.search(r"\b(EST|EDT|GMT-[45])\b", fires.first.inner_text()), fires.first.inner_text()
    assert "late" in row.locator(".mark.late").inner_text()
    assert row.locator(".mark.missed").inner_text() == "2 missed"
    # One run for the late fire (not one per missed time); a fifth-minute boundary passing
    # during the test adds an on-time fire, and its run, besides it.
    fired = server.api.get(f"/schedules/{every5['id']}").json()["fires"]
    assert [f["late"] for f in fired].count(True) == 1, fired
    shown = row.locator("td").nth(3).locator(".badge").count()
    assert shown == len([f for f in fired if f["execution_id"]]) or shown == 1, (shown, fired)
    tokyo = page.locator(f"#schedules tr[data-id='{mornings['id']}']")
    assert "09:30" in tokyo.locator("td").nth(2).locator("li").first.inner_text()
    assert "not fired yet" in tokyo.inner_text()
    screenshot(page, "schedules")


def test_keys_are_created_shown_once_and_revoked(
    demo: Demo, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the revoke confirmation
    page.goto(demo.server.url + "/keys")
    form = page.locator("#create-key")
    form.wait_for()
    form.locator("select[name=role]").select_option("runner")
    form.locator("input[name=namespace]").fill("shop")
    form.locator("input[name=name]").fill("ci")
    form.get_by_role("button", name="Create key").click()
    secret = page.locator(".key-created input.secret")
    secret.wait_for()
    key = secret.input_value()
    assert key.startswith("rtk_")
    listed = demo.server.api.get("/keys").json()["keys"]
    (prefix,) = [k["prefix"] for k in listed if key.startswith(k["prefix"])]
    row = page.locator(f"#keys tr[data-prefix='{prefix}']")
    row.wait_for()
    assert "ci" in row.inner_text() and "runner" in row.inner_text()
    assert "shop" in row.inner_text()
    assert key not in page.locator("#keys").inner_text()  # only ever the prefix
    screenshot(page, "keys")
    page.reload()
    assert page.locator(".key-created").count() == 0  # shown once
    row.get_by_role("button", name=f"Revoke {prefix}").click()
    page.wait_for_selector(f"#keys tr[data-prefix='{prefix}']", state="detached")
    revoked = demo.server.api.get("/keys", params={"include_revoked": True}).json()["keys"]
    assert [k["revoked_at"] is not None for k in revoked if k["prefix"] == prefix] == [True]
    page.locator("input[name=revoked]").check()
    page.wait_for_selector(f"#keys tr[data-prefix='{prefix}'] >> text=revoked")


def test_audit_log_lists_and_filters(
    story: Story, new_page: Callable[..., Page], screenshot: Callable[[Page, str], None]
) -> None:
    page = new_page()
    page.goto(story.demo.server.url + "/audit")
    page.wait_for_selector("#audit tbody tr")
    actions = set(
        page.locator("#audit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    )
    assert {"function.deploy", "webhook.create"} <= actions
    screenshot(page, "audit")
    page.locator("input[name=action]").fill("webhook.create")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"action=webhook.create"))
    page.wait_for_selector("#audit tbody tr")
    rows = page.locator("#audit tbody tr")
    assert rows.count() >= 1
    assert all(
        a == "webhook.create" for a in rows.evaluate_all("rows => rows.map(r => r.dataset.action)")
    )
    assert "webhook github-push" in page.locator("#audit").inner_text()


def test_admin_pages_tell_a_viewer_why_not(tmp_path: Any, new_page: Callable[..., Page]) -> None:
    server = UiServer(tmp_path, auth=True, workers=1)
    try:
        viewer = server.api.post("/keys", json={"role": "viewer", "name": "eve"}).json()["key"]
        page = new_page()
        page.goto(server.url + "/keys")
        dialog = page.locator("dialog.login")
        dialog.wait_for()
        dialog.locator("input").fill(viewer)
        dialog.get_by_role("button", name="Sign in").click()
        notice = page.locator(".notice.forbidden")
        notice.wait_for()
        assert "API keys are for admins." in notice.inner_text()
        assert "viewer" in notice.inner_text()
        assert page.locator("#create-key").count() == 0
        page.goto(server.url + "/audit")
        page.locator(".notice.forbidden").wait_for()
        assert page.locator("input[name=action]").is_hidden()
        # what a viewer may read works
        page.goto(server.url + "/webhooks")
        page.wait_for_selector(".page-webhooks .empty >> text=No webhooks yet")
        page.goto(server.url + "/schedules")
        page.wait_for_selector(".page-schedules .empty >> text=No schedules yet")
        page.goto(server.url + "/find?value=ada")
        page.wait_for_selector("#find-results .empty >> text=No execution handled this value.")
    finally:
        server.stop()


@pytest.mark.parametrize(
    "path",
    ["/webhooks", "/webhooks/github-push", "/schedules", "/keys", "/audit", "/find?value=ada"],
)
def test_the_new_pages_fit_a_phone(story: Story, new_page: Callable[..., Page], path: str) -> None:
    page = new_page(width=390, height=800, dark=True)
    page.goto(story.demo.server.url + path)
    page.wait_for_selector("#app[aria-busy='false']")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{path} is {overflow}px wider than the window"


def test_every_time_is_shown_one_way_in_the_browsers_zone_or_a_schedules(
    demo: Demo, new_page: Callable[..., Page]
) -> None:
    """The UI's one human format (format.js dateTime), which the CLI's text shares
    (tests/cli/test_timestamps.py): date, 24-hour time to the second, the zone's name."""
    page = new_page(timezone="America/New_York")
    page.goto(demo.server.url + "/")
    shown = page.evaluate(
        """async () => {
          const f = await import("/static/js/format.js");
          const t = "2026-12-05T03:11:18.250Z";
          return [f.dateTime(t), f.dateTime(t, "UTC"), f.dateTimeIn(t, "Asia/Tokyo"),
                  f.dateTimeIn(t, "No/Such_Zone"), f.dateTime(null)];
        }"""
    )
    assert shown == [
        "2026-12-04 22:11:18 EST",
        "2026-12-05 03:11:18 UTC",
        "2026-12-05 12:11:18 GMT+9",
        "2026-12-04 22:11:18 EST (local)",
        "–",
    ]
