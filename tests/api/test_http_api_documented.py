"""docs/http-api.md names every operation of the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

DOC = Path(__file__).resolve().parents[2] / "docs" / "http-api.md"


def test_every_operation_is_in_the_http_api_doc(client: TestClient) -> None:
    documented = set(re.findall(r"^\| `([A-Z]+) (/[^`?]*)`", DOC.read_text(), re.M))
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    operations = {(method.upper(), path) for path, item in paths.items() for method in item}
    missing = operations - documented
    assert not missing, f"add these to docs/http-api.md: {sorted(missing)}"
    stale = {op for op in documented - operations if op[1] != "/api/v1"}
    assert not stale, f"docs/http-api.md names operations that do not exist: {sorted(stale)}"
