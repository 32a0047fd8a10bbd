"""``/docs`` renders the API's operations in a browser with no Internet access, under the
strict Content-Security-Policy, from files this server serves itself."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_api_docs_render_offline_under_the_csp(demo: Demo, browser: Any) -> None:
    origin = demo.server.url
    context = browser.new_context()  # no bypass_csp: the page must live with its own CSP
    outside: list[str] = []
    problems: list[str] = []

    def only_this_server(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/"):
            route.continue_()
        else:  # what a machine without Internet access would do to it
            outside.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        response = page.goto(f"{origin}/docs")
        assert response is not None and response.ok
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_selector(".opblock", timeout=30_000)
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        assert len(operations) > 20
        assert any(
            path.startswith("/api/v1/functions/{namespace}/{name}/executions")
            for path in operations
        )
        assert page.locator(".info .title").inner_text().startswith("runtree")
        assert page.locator(".auth-wrapper .authorize").count() == 1  # the API key
    finally:
        context.close()
    assert outside == []
    assert problems == []
