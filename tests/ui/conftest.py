"""Browser tests: a real ``runtree serve`` and Debian's Chromium driven by Playwright.

The browser is ``/usr/bin/chromium`` (``apt-get install chromium``; ``make browser-deps``
installs it as root). Playwright never downloads a browser here: do not run ``playwright
install``. Without the executable (or the ``playwright`` package) the browser tests skip and
say why.

Set ``RUNTREE_SCREENSHOTS=docs/screenshots`` to have the tests save the README's pictures.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..e2e.conftest import free_port

CHROMIUM = os.environ.get("RUNTREE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "orders"
WEBHOOK_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhooks"
GITHUB_SECRET = "It's a Secret to Everybody"

# Ten thousand steps, the whole step budget: the root, 99 batch calls and 100 item calls in
# each. `big_tree_item` is another deployed function: calls into other functions are kept
# from the budget's reserve (README "Step budget"), so the tree fills all 10,000 steps.
BIG_TREE = '''
def big_tree(batches: int = 99, items: int = 100) -> int:
    """Ten thousand steps."""

    def batch(index: int) -> int:
        return sum(big_tree_item(index, i) for i in range(items))

    return sum(batch(b) for b in range(batches))
'''
BIG_TREE_ITEM = '''
def big_tree_item(index: int, i: int) -> int:
    """One step of big_tree."""
    return index * i
'''
SLEEPER = '''
import time


def sleeper(seconds: float = 1.5) -> str:
    """Takes its time."""
    time.sleep(seconds)
    return "rested"
'''
SHOUTER = '''
def shouter(text: str, token: str = "", size: int = 0) -> dict:
    """Prints and returns what it is given (and `size` more characters)."""
    print(text)
    return {"echo": text, "html": "<b>bold?</b>", "padding": "x" * size}
'''


def browser_skip_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[dev]'"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = browser_skip_reason()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.skip(reason=reason))


class UiServer:
    """A ``runtree serve`` subprocess on a free loopback port with its own database."""

    def __init__(
        self,
        directory: Path,
        *,
        auth: bool = False,
        workers: int = 2,
        database: str | None = None,
        startup_timeout: float = 90,
    ) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key_file = directory / "admin.key"
        env = {**os.environ, "RUNTREE_ADMIN_KEY_FILE": str(self.key_file)}
        env.pop("RUNTREE_NO_AUTH", None)
        if not auth:
            env["RUNTREE_NO_AUTH"] = "1"
        command = [
            sys.executable,
            "-m",
            "runtree",
            "serve",
            "--port",
            str(self.port),
            "--database",
            database or f"sqlite:///{directory / 'runtree.db'}",
            "--workers",
            str(workers),
        ]
        self.log = open(directory / "serve.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        deadline = time.monotonic() + startup_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"runtree serve exited: {self.read_log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"runtree serve did not start: {self.read_log()}")
            time.sleep(0.1)
        headers = {}
        if auth:
            headers["Authorization"] = f"Bearer {self.admin_key()}"
        self.api = httpx.Client(base_url=f"{self.url}/api/v1", timeout=60, headers=headers)

    def read_log(self) -> str:
        return (self.directory / "serve.log").read_text(errors="replace")

    def admin_key(self) -> str:
        return self.key_file.read_text().strip()

    def deploy(self, name: str, code: str, namespace: str = "default") -> dict[str, Any]:
        response = self.api.put(f"/functions/{namespace}/{name}", json={"code": code})
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def run(
        self, name: str, input: dict[str, Any], *, wait: bool = True, namespace: str = "default"
    ) -> dict[str, Any]:
        response = self.api.post(
            f"/functions/{namespace}/{name}/executions", json={"input": input, "wait": wait}
        )
        assert response.status_code in (200, 202), response.text
        body: dict[str, Any] = response.json()
        return body

    def stop(self) -> None:
        self.api.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


@dataclass
class Demo:
    """The seeded server and the ids of what the tests open."""

    server: UiServer
    ok: str = ""
    failed: str = ""
    big: str = ""
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    if browser_skip_reason():
        pytest.skip(browser_skip_reason() or "")
    server = UiServer(tmp_path_factory.mktemp("ui-server"))
    try:
        for path in sorted(EXAMPLES.glob("*.py")):
            server.deploy(path.stem, path.read_text())
        tax = (EXAMPLES / "calculate_tax.py").read_text()
        server.deploy("big_tree_item", BIG_TREE_ITEM)
        server.deploy("big_tree", BIG_TREE)
        server.deploy("sleeper", SLEEPER)
        server.deploy("shouter", SHOUTER)
        demo = Demo(server)
        demo.ok = server.run("calculate_order_total", {"customer_id": 42})["id"]
        demo.failed = server.run("calculate_order_total", {"customer_id": 3})["id"]
        big = server.run("big_tree", {})
        assert big["status"] == "succeeded", big
        demo.big = big["id"]
        # a second version of calculate_tax, for the diff
        server.deploy("calculate_tax", tax.replace('"FI": 0.255}', '"FI": 0.255, "DE": 0.19}'))
        server.run("calculate_order_total", {"customer_id": 7})
        yield demo
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, for one test module. Not for the session: Playwright's synchronous API leaves
    its event loop marked running in this thread until it stops, so any later test in the same
    process that calls ``asyncio.run`` would fail (the suite runs in parallel, and a process
    takes modules in any order)."""
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """new_page(width=1400, height=900, dark=False, timezone=None) -> a Playwright page that
    fails the test on any uncaught page error (``timezone``: the browser's, an IANA name)."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(
        width: int = 1400, height: int = 900, dark: bool = False, timezone: str | None = None
    ) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme="dark" if dark else "light",
            timezone_id=timezone,
            bypass_csp=True,  # lets Playwright's own helpers run; the app never needs it
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def screenshot() -> Callable[[Any, str], None]:
    """screenshot(page, name): saves docs' pictures when RUNTREE_SCREENSHOTS names a folder."""
    folder = os.environ.get("RUNTREE_SCREENSHOTS")

    def save(page: Any, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"))

    return save


@dataclass
class Story:
    """The README's 3 AM story up to the fix: a GitHub-signed push delivered to
    ``/hooks/github-push`` failed in ``on_push`` v1 (a forged one was rejected), and the fix
    is deployed as v2 -- not yet replayed."""

    demo: Demo
    execution: str  # the failed execution the delivery started


def github_headers(body: bytes, delivery: str, secret: str = GITHUB_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }


@pytest.fixture(scope="session")
def story(demo: Demo) -> Story:
    server = demo.server
    server.deploy("on_push", (WEBHOOK_EXAMPLE / "on_push.py").read_text())
    created = server.api.post(
        "/webhooks",
        json={
            "function": "on_push",
            "path": "github-push",
            "verify": "github",
            "secret": GITHUB_SECRET,
        },
    )
    assert created.status_code == 201, created.text
    body = (WEBHOOK_EXAMPLE / "push.json").read_bytes()
    hook = f"{server.url}/hooks/github-push"
    forged = httpx.post(hook, content=body, headers=github_headers(body, "f0", "guess"))
    assert forged.status_code == 401
    sent = httpx.post(
        hook, content=body, headers=github_headers(body, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    )
    assert sent.status_code == 202, sent.text
    execution = sent.json()["execution_id"]
    deadline = time.monotonic() + 30
    while server.api.get(f"/executions/{execution}").json()["status"] != "failed":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    server.deploy("on_push", (WEBHOOK_EXAMPLE / "fixed" / "on_push.py").read_text())
    return Story(demo, execution)
