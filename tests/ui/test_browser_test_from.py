"""The step panel's "Download test" button, in a real browser: the saved file is the pytest
file ``runtree test-from`` writes, and it passes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import Demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Page = Any


def test_download_test_of_the_failing_step(
    demo: Demo, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    page = new_page()
    page.goto(f"{demo.server.url}/executions/{demo.failed}")
    page.wait_for_selector("html[data-tree-ready-ms]", state="attached")
    # the page opens on the failing step, get_customer (step 2)
    page.wait_for_selector(".detail-title .name:text-is('get_customer')")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download test", exact=True).click()
    download = info.value
    assert download.suggested_filename == f"test_get_customer_{demo.failed[:8]}_step2.py"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    text = target.read_text()
    assert "with pytest.raises(KeyError) as raised:" in text
    assert "assert str(raised.value) == \"'no customer with id 3'\"" in text
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed" in ran.stdout
    assert page.locator(".step-test-status *").count() == 0


def test_a_step_with_a_secret_input_says_why_and_offers_the_xfail_test(
    demo: Demo, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    run = demo.server.run("shouter", {"text": "hello", "token": "s3cret"})
    assert run["status"] == "succeeded", run
    page = new_page()
    page.goto(f"{demo.server.url}/executions/{run['id']}?step=1")
    page.wait_for_selector(".detail-title .name:text-is('shouter')")
    page.get_by_role("button", name="Download test", exact=True).click()
    status = page.locator(".step-test-status")
    status.get_by_text("input 'token' was redacted", exact=False).wait_for()
    with page.expect_download() as info:
        status.get_by_role("button", name="Download marked xfail", exact=True).click()
    download = info.value
    assert download.suggested_filename == f"test_shouter_{run['id'][:8]}_step1.py"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    text = target.read_text()
    assert "@pytest.mark.xfail(strict=True, reason=" in text and "s3cret" not in text
