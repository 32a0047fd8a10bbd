"""The web UI's server side: page shells, static files, headers, and rules its JavaScript
keeps (no HTML parsing of data, every import resolvable, every file packaged)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.settings import Settings
from runtree.ui.pages import STATIC_DIR

from ..api.conftest import NullDispatcher

ROOT = Path(__file__).resolve().parents[2]
UI_DIR = STATIC_DIR.parent
PAGES = [
    ("/", "executions"),
    ("/executions/0123456789abcdef0123456789abcdef", "execution"),
    ("/functions", "functions"),
    ("/functions/default/orders", "function"),
    ("/webhooks", "webhooks"),
    ("/webhooks/on-push", "webhook"),
    ("/schedules", "schedules"),
    ("/workers", "workers"),
    ("/find", "find"),
    ("/keys", "keys"),
    ("/audit", "audit"),
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The app with access control on and no key sent."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/ui.db", scheduler=False)
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as test_client:
        yield test_client


@pytest.mark.parametrize(("path", "page"), PAGES)
def test_pages_are_html_shells_with_a_strict_policy(
    client: TestClient, path: str, page: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    html = response.text
    assert f'data-page="{page}"' in html
    assert f'src="/static/js/pages/{page}.js' in html
    assert "<script>" not in html  # no inline script: everything is a module from /static


def test_pages_name_what_to_show_in_data_attributes(client: TestClient) -> None:
    html = client.get("/executions/0123456789abcdef0123456789abcdef?step=7").text
    assert 'data-execution-id="0123456789abcdef0123456789abcdef"' in html
    assert 'data-step="7"' in html
    html = client.get("/functions/billing/charge").text
    assert 'data-namespace="billing"' in html and 'data-name="charge"' in html
    html = client.get("/webhooks/on-push?delivery=0123456789abcdef0123456789abcdef").text
    assert 'data-path="on-push"' in html
    assert 'data-delivery="0123456789abcdef0123456789abcdef"' in html


def test_pages_name_the_admin_key_file_only_when_keys_are_needed(
    client: TestClient, tmp_path: Path
) -> None:
    assert 'data-admin-key-file="ui.db.admin-key"' in client.get("/").text
    assert str(tmp_path) not in client.get("/functions").text  # its name, not its path
    settings = Settings(database_url=f"sqlite:///{tmp_path}/open.db", scheduler=False, auth=False)
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as open_client:
        assert "data-admin-key-file" not in open_client.get("/").text


def test_every_page_is_in_the_navigation(client: TestClient) -> None:
    html = client.get("/").text
    for href in (
        "/",
        "/functions",
        "/webhooks",
        "/schedules",
        "/workers",
        "/find",
        "/keys",
        "/audit",
    ):
        assert f'<a href="{href}" data-nav=' in html


def test_values_from_the_url_are_escaped(client: TestClient) -> None:
    hostile = '"><img src=x onerror=alert(1)>'
    html = client.get(f"/functions/{hostile}/x").text
    assert "<img" not in html and "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    html = client.get("/executions/abc", params={"step": '"><b>x</b>'}).text
    assert "<b>" not in html and "&#34;&gt;&lt;b&gt;x&lt;/b&gt;" in html


def test_pages_need_no_key_but_the_api_does(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/static/js/api.js").status_code == 200
    assert client.get("/api/v1/functions").status_code == 401


def test_static_files_are_revalidated_and_typed(client: TestClient) -> None:
    response = client.get("/static/js/tree.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "no-cache"
    assert client.get("/static/css/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/../pages.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


def test_old_list_path_redirects_and_pages_stay_out_of_the_openapi(client: TestClient) -> None:
    response = client.get("/executions", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == "/"
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert all(path.startswith("/api/v1/") or path.startswith("/h") for path in paths)
    assert "/api/v1/executions/{execution_id}/outline" in paths
    assert "/api/v1/functions/{namespace}/{name}/stats" in paths


SCRIPTS = sorted(STATIC_DIR.rglob("*.js"))
FORBIDDEN = re.compile(
    r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\("
    r"|createContextualFragment|DOMParser"
)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC_DIR)))
def test_scripts_never_parse_strings_as_html(script: Path) -> None:
    source = script.read_text()
    assert not FORBIDDEN.findall(source), f"{script.name} builds DOM from strings"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC_DIR)))
def test_every_import_resolves(script: Path) -> None:
    for target in re.findall(r'^import .* from "(\.[^"]+)";$', script.read_text(), re.M):
        assert (script.parent / target).resolve().is_file(), f"{script.name}: {target}"


def test_every_ui_file_is_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["runtree"]
    package = UI_DIR.parent
    files = [
        p
        for p in UI_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"
    ]
    assert files
    for path in files:
        relative = path.relative_to(package)
        assert any(relative.match(pattern) for pattern in patterns), f"{relative} not packaged"
