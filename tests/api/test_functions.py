"""Deploying and reading functions and versions over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .helpers import API, assert_problem, deploy, store_of

ADD = 'def add(a: int, b: int = 1) -> int:\n    """Adds."""\n    return a + b\n'
ADD_V2 = 'def add(a: int, b: int = 2) -> int:\n    """Adds."""\n    return a + b\n'


def test_deploy_new_then_identical_then_changed(client: TestClient) -> None:
    first = client.put(f"{API}/functions/default/add", json={"code": ADD, "description": "sum"})
    assert first.status_code == 201
    body = first.json()
    assert body["created"] is True
    assert (body["function"], body["number"]) == ("default/add", 1)
    assert len(body["sha256"]) == 64
    assert body["settings"] == {"timeout_s": 30.0, "memory_mb": 512, "tracking": True}
    assert body["warnings"] == [] and body["dependencies"] == []
    assert [p["name"] for p in body["signature"]["parameters"]] == ["a", "b"]
    assert body["signature"]["parameters"][1]["default"] == 1
    assert body["created_at"]
    assert first.headers["location"] == f"{API}/functions/default/add/versions/1"

    same = client.put(f"{API}/functions/default/add", json={"code": ADD})
    assert same.status_code == 200
    assert same.json()["created"] is False
    assert same.json()["number"] == 1 and same.json()["sha256"] == body["sha256"]

    changed = client.put(f"{API}/functions/default/add", json={"code": ADD_V2})
    assert changed.status_code == 201
    assert changed.json()["number"] == 2

    resettled = client.put(f"{API}/functions/default/add", json={"code": ADD_V2, "timeout_s": 5})
    assert resettled.status_code == 201  # settings are part of the version
    assert resettled.json()["number"] == 3
    assert resettled.json()["settings"]["timeout_s"] == 5


def test_function_versions_and_diff(client: TestClient) -> None:
    deploy(client, "default", "add", ADD, description="sum")
    deploy(client, "default", "add", ADD_V2, memory_mb=256)

    listing = client.get(f"{API}/functions").json()["functions"]
    assert [(f["function"], f["current_version"]) for f in listing] == [("default/add", 2)]
    assert client.get(f"{API}/functions", params={"namespace": "other"}).json() == {"functions": []}

    function = client.get(f"{API}/functions/default/add").json()
    assert function["description"] == "sum"
    assert function["run_count"] == 0 and function["last_status"] is None
    assert function["version"]["number"] == 2 and function["version"]["source"] == ADD_V2

    versions = client.get(f"{API}/functions/default/add/versions").json()["versions"]
    assert [v["number"] for v in versions] == [1, 2]
    assert "source" not in versions[0]

    one = client.get(f"{API}/functions/default/add/versions/1").json()
    assert one["source"] == ADD and one["number"] == 1

    diff = client.get(f"{API}/functions/default/add/diff", params={"from": 1, "to": 2}).json()
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert "-def add(a: int, b: int = 1) -> int:" in diff["diff"]
    assert "+def add(a: int, b: int = 2) -> int:" in diff["diff"]
    assert diff["diff"].startswith("--- default/add.py v1\n+++ default/add.py v2\n")
    assert diff["settings"] == {"memory_mb": {"old": 512, "new": 256}}
    same = client.get(f"{API}/functions/default/add/diff", params={"from": 2, "to": 2}).json()
    assert same["diff"] == "" and same["settings"] == {}


def test_unknown_functions_and_versions_are_404(client: TestClient) -> None:
    deploy(client, "default", "add", ADD)
    for path in (
        "/functions/default/nope",
        "/functions/default/nope/versions",
        "/functions/default/nope/versions/1",
        "/functions/nope/add",
    ):
        body = assert_problem(client.get(API + path), 404, "not-found")
        assert body["kind"] == "function"
    body = assert_problem(client.get(f"{API}/functions/default/add/versions/7"), 404, "not-found")
    assert (body["kind"], body["key"]) == ("version", "default/add v7")
    response = client.get(f"{API}/functions/default/add/diff", params={"from": 1, "to": 9})
    assert assert_problem(response, 404, "not-found")["kind"] == "version"


def test_bad_syntax_is_422_with_line_and_column_and_nothing_stored(client: TestClient) -> None:
    code = "def broken(x):\n    return (x +\n"
    response = client.put(f"{API}/functions/default/broken", json={"code": code})
    body = assert_problem(response, 422, "invalid-code")
    assert body["field"] == "code"
    assert (body["line"], body["column"]) == (2, 12)
    assert body["detail"].startswith("line 2, column 12: ")
    assert client.get(f"{API}/functions").json() == {"functions": []}
    assert store_of(client).get_function("default", "broken") is None


def test_missing_entry_point_is_422(client: TestClient) -> None:
    code = "def other():\n    pass\n"
    response = client.put(f"{API}/functions/default/main", json={"code": code})
    body = assert_problem(response, 422, "invalid-code")
    assert "main" in body["detail"]
    assert (body["line"], body["column"]) == (1, 1)
    assert client.get(f"{API}/functions").json() == {"functions": []}


def test_invalid_names_are_422_naming_the_field(client: TestClient) -> None:
    code = "def f():\n    pass\n"
    cases = [
        ("default", "not-valid", "name"),
        ("default", "class", "name"),
        ("default", "__f", "name"),
        ("9lives", "f", "namespace"),
        ("for", "f", "namespace"),
    ]
    for namespace, name, field in cases:
        response = client.put(f"{API}/functions/{namespace}/{name}", json={"code": code})
        body = assert_problem(response, 422, "invalid-name")
        assert body["field"] == field, (namespace, name, body)
    assert client.get(f"{API}/functions").json() == {"functions": []}


def test_invalid_settings_are_422_naming_the_field(client: TestClient) -> None:
    code = "def f():\n    pass\n"
    response = client.put(f"{API}/functions/default/f", json={"code": code, "timeout_s": -1})
    assert assert_problem(response, 422, "invalid-settings")["field"] == "timeout_s"
    response = client.put(f"{API}/functions/default/f", json={"code": code, "memory_mb": 1})
    assert assert_problem(response, 422, "invalid-settings")["field"] == "memory_mb"
    # Wrong JSON types and unknown members are request errors, named too.
    response = client.put(f"{API}/functions/default/f", json={"code": code, "memory_mb": "1G"})
    assert assert_problem(response, 422, "invalid-request")["field"] == "memory_mb"
    response = client.put(f"{API}/functions/default/f", json={"code": code, "timeout": 3})
    assert assert_problem(response, 422, "invalid-request")["field"] == "timeout"
    response = client.put(f"{API}/functions/default/f", json={"source": code})
    body = assert_problem(response, 422, "invalid-request")
    assert {e["field"] for e in body["errors"]} == {"code", "source"}
    assert client.get(f"{API}/functions").json() == {"functions": []}


def test_undefined_names_are_warnings(client: TestClient) -> None:
    body = deploy(client, "default", "f", "def f():\n    return order\n")
    assert body["warnings"] == [
        {"lineno": 2, "col": 12, "message": "undefined name 'order'", "kind": "UndefinedName"}
    ]
    assert body["dependencies"] == ["order"]
