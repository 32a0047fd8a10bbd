"""The execution page's trace-file download buttons, in a real browser."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.trace_files.checks import check_speedscope, complete_events

from .conftest import Demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Page = Any


def test_download_buttons_save_each_trace_file(
    demo: Demo, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    page = new_page()
    page.goto(f"{demo.server.url}/executions/{demo.ok}")
    page.wait_for_selector("html[data-tree-ready-ms]", state="attached")
    saved: dict[str, Any] = {}
    for label, format_ in (
        ("Chrome trace", "chrome"),
        ("speedscope", "speedscope"),
        ("JSON", "json"),
    ):
        with page.expect_download() as info:
            page.locator(".trace-export").get_by_role("button", name=label, exact=True).click()
        download = info.value
        assert download.suggested_filename == (
            f"runtree-default-calculate_order_total-{demo.ok[:8]}.{format_}.json"
        )
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        saved[format_] = json.loads(target.read_text())
    names = {event["name"] for event in complete_events(saved["chrome"])}
    assert {"calculate_order_total", "calculate_tax"} <= names
    check_speedscope(saved["speedscope"])
    assert saved["json"]["execution"]["id"] == demo.ok
    assert page.locator(".trace-export .error, .export-status *").count() == 0
