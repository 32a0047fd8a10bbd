"""One timestamp format everywhere: RFC 3339 in UTC with ``Z``, the same characters from the
CLI's ``--json`` and from the HTTP API."""

from __future__ import annotations

import datetime
import json
import pathlib
import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.settings import Settings
from runtree.timestamps import rfc3339

from ..api.conftest import NullDispatcher
from .conftest import Cli

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


def timestamps(document: Any) -> dict[str, str]:
    """Every string in ``document`` that looks like a time, by its path."""
    found: dict[str, str] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
            found[path] = value

    walk(document, "")
    return found


def test_rfc3339() -> None:
    utc = datetime.UTC
    assert rfc3339(datetime.datetime(2026, 12, 5, 3, 11, 18, tzinfo=utc)) == (
        "2026-12-05T03:11:18Z"
    )
    assert rfc3339(datetime.datetime(2026, 12, 5, 3, 11, 18, 120, tzinfo=utc)) == (
        "2026-12-05T03:11:18.000120Z"
    )
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    assert rfc3339(datetime.datetime(2026, 12, 5, 5, 0, tzinfo=plus_two)) == (
        "2026-12-05T03:00:00Z"
    )
    assert rfc3339(datetime.datetime(2026, 12, 5, 3, 0)) == "2026-12-05T03:00:00Z"


def test_cli_json_and_the_api_write_the_same_timestamps(
    cli: Cli, deployed: pathlib.Path, db_url: str, tmp_path: pathlib.Path
) -> None:
    queued = cli("run", "calculate_order_total", "-a", "customer_id=42", "--no-wait")
    execution_id = queued.stdout.strip()
    from_cli = json.loads(cli("show", execution_id, "--json").stdout)
    functions_cli = json.loads(cli("functions", "--json").stdout)
    settings = Settings(
        database_url=db_url, scheduler=False, admin_key_file=str(tmp_path / "admin-key")
    )
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
        key = settings.admin_key_path.read_text().strip()
        client.headers["Authorization"] = f"Bearer {key}"
        from_api = client.get(f"/api/v1/executions/{execution_id}").json()
        functions_api = client.get("/api/v1/functions").json()["functions"]
    cli_times = timestamps(from_cli) | timestamps(functions_cli)
    api_times = timestamps(from_api) | timestamps(functions_api)
    assert cli_times and api_times
    for source, times in (("cli", cli_times), ("api", api_times)):
        for path, value in times.items():
            assert RFC3339_Z.match(value), (source, path, value)
    assert from_cli["queued_at"] == from_api["queued_at"]
    assert functions_cli[0]["created_at"] == functions_api[0]["created_at"]


def test_cli_text_shows_local_time_with_its_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's one human format, the web UI's too: date, 24-hour time, the zone's name."""
    from runtree.cli.views import local_time

    moment = datetime.datetime(2026, 12, 5, 3, 11, 18, 250_000, tzinfo=datetime.UTC)
    try:
        monkeypatch.setenv("TZ", "America/New_York")
        time.tzset()
        assert local_time(moment) == "2026-12-04 22:11:18 EST"
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
        assert local_time(moment) == "2026-12-05 03:11:18 UTC"
        assert local_time(None) == "-"
    finally:
        monkeypatch.undo()
        time.tzset()
