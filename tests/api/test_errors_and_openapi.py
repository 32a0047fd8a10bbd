"""Problem responses for everything that can go wrong, the body limit, health and OpenAPI."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from runtree.api.schemas.base import MAX_VERSION
from runtree.service.history import MAX_RUNS

from .conftest import BODY_LIMIT
from .helpers import API, assert_problem, store_of


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/nothing/here"), 404, "not-found")
    assert_problem(client.get("/nothing"), 404, "not-found")
    response = client.delete(f"{API}/functions")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"
    response = client.get(f"{API}/executions/{'0' * 32}/cancel")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "POST"


def test_unknown_execution_is_404(client: TestClient) -> None:
    missing = "f" * 32
    for response in (
        client.get(f"{API}/executions/{missing}"),
        client.get(f"{API}/executions/{missing}/tree"),
        client.post(f"{API}/executions/{missing}/cancel"),
        client.get(f"{API}/executions/not-an-id"),
    ):
        body = assert_problem(response, 404, "not-found")
        assert body["kind"] == "execution"


def test_malformed_json_and_wrong_types_name_the_field(client: TestClient) -> None:
    json_type = {"content-type": "application/json"}
    response = client.put(f"{API}/functions/default/f", content=b'{"code": ', headers=json_type)
    body = assert_problem(response, 422, "invalid-request")
    assert body["field"] == "body" and "invalid JSON" in body["detail"]
    response = client.put(f"{API}/functions/default/f", json=["not", "an", "object"])
    assert assert_problem(response, 422, "invalid-request")["errors"][0]["location"] == "body"
    response = client.get(f"{API}/executions", params={"limit": "lots"})
    body = assert_problem(response, 422, "invalid-request")
    assert body["field"] == "limit" and body["errors"][0]["location"] == "query"
    response = client.get(f"{API}/functions/default/f/versions/0")
    assert assert_problem(response, 422, "invalid-request")["field"] == "number"


def test_body_over_the_limit_is_413(client: TestClient) -> None:
    code = "def f():\n    return 1\n" + "# padding\n" * (BODY_LIMIT // 10)
    response = client.put(f"{API}/functions/default/f", json={"code": code})
    body = assert_problem(response, 413, "body-too-large")
    assert body["limit"] == BODY_LIMIT and str(BODY_LIMIT) in body["detail"]
    assert store_of(client).get_function("default", "f") is None


def test_streamed_body_over_the_limit_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # sent without a Content-Length
        yield b'{"code": "'
        for _ in range(BODY_LIMIT // 1000 + 1):
            yield b"#" * 1000
        yield b'"}'

    response = client.put(
        f"{API}/functions/default/f", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "body-too-large")


def test_body_under_the_limit_passes(client: TestClient) -> None:
    code = "def f():\n    return 1\n" + "# padding\n" * (BODY_LIMIT // 20)
    assert client.put(f"{API}/functions/default/f", json={"code": code}).status_code == 201


def test_unexpected_errors_are_a_generic_500_and_logged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(namespace: str | None = None) -> None:
        raise RuntimeError("secret detail in /srv/runtree/private.py")

    monkeypatch.setattr(store_of(client), "list_functions", explode)
    with caplog.at_level(logging.ERROR, logger="runtree.api"):
        response = client.get(f"{API}/functions")
    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert body["incident"] in body["detail"]
    logged = [r for r in caplog.records if r.name == "runtree.api"]
    assert logged and logged[0].exc_info is not None
    assert body["incident"] in logged[0].getMessage()


def test_healthz(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"]) == ("ok", True)
    assert body["schema_revision"] == store_of(client).schema_revision()

    def down() -> None:
        raise OSError("database is gone")

    monkeypatch.setattr(store_of(client), "schema_revision", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] is False


EXPECTED_OPERATIONS = {
    ("put", "/api/v1/functions/{namespace}/{name}"),
    ("get", "/api/v1/functions"),
    ("get", "/api/v1/functions/{namespace}/{name}"),
    ("get", "/api/v1/functions/{namespace}/{name}/versions"),
    ("get", "/api/v1/functions/{namespace}/{name}/versions/{number}"),
    ("get", "/api/v1/functions/{namespace}/{name}/diff"),
    ("post", "/api/v1/functions/{namespace}/{name}/executions"),
    ("get", "/api/v1/executions"),
    ("get", "/api/v1/executions/{execution_id}"),
    ("get", "/api/v1/executions/{execution_id}/tree"),
    ("post", "/api/v1/executions/{execution_id}/cancel"),
    ("get", "/healthz"),
}
# Access control, audit, webhooks, schedules (issue 4).
ACCESS_OPERATIONS = {
    ("get", "/api/v1/whoami"),
    ("post", "/api/v1/keys"),
    ("get", "/api/v1/keys"),
    ("delete", "/api/v1/keys/{prefix}"),
    ("get", "/api/v1/audit"),
    ("post", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks"),
    ("get", "/api/v1/webhooks/{webhook_path}"),
    ("delete", "/api/v1/webhooks/{webhook_path}"),
    ("get", "/api/v1/webhooks/{webhook_path}/deliveries"),
    ("get", "/api/v1/deliveries/{delivery_id}"),
    ("post", "/api/v1/deliveries/{delivery_id}/replay"),
    ("get", "/api/v1/executions/{execution_id}/delivery"),
    ("post", "/api/v1/executions/{execution_id}/replay"),
    ("get", "/api/v1/executions/{execution_id}/world"),
    ("post", "/api/v1/schedules"),
    ("get", "/api/v1/schedules"),
    ("get", "/api/v1/schedules/{schedule_id}"),
    ("post", "/api/v1/schedules/{schedule_id}/pause"),
    ("post", "/api/v1/schedules/{schedule_id}/resume"),
    ("delete", "/api/v1/schedules/{schedule_id}"),
    ("post", "/hooks/{path}"),
}
# What the web UI reads (issue 5).
UI_OPERATIONS = {
    ("get", "/api/v1/executions/{execution_id}/outline"),
    ("get", "/api/v1/executions/{execution_id}/steps"),
    ("get", "/api/v1/executions/{execution_id}/steps/{step_id}"),
    ("get", "/api/v1/functions/{namespace}/{name}/stats"),
}
# Shadow replay and promotion (issue 13).
SHADOW_OPERATIONS = {
    ("get", "/api/v1/functions/{namespace}/{name}/shadow-reports"),
    ("get", "/api/v1/functions/{namespace}/{name}/shadow-reports/{report_id}"),
    ("post", "/api/v1/functions/{namespace}/{name}/versions/{number}/promote"),
}
# Workers and queues (issue 17).
WORKERS_OPERATIONS = {("get", "/api/v1/workers")}
# Which executions handled a value (issue 13).
FIND_OPERATIONS = {("get", "/api/v1/find")}
# Trace files (issue 11).
EXPORT_OPERATIONS = {("get", "/api/v1/executions/{execution_id}/export")}
# A recorded step becomes a test (issue 13).
TEST_FROM_OPERATIONS = {("get", "/api/v1/executions/{execution_id}/test")}
# Retention (issue 11).
RETENTION_OPERATIONS = {
    ("get", "/api/v1/retention"),
    ("put", "/api/v1/retention"),
    ("delete", "/api/v1/retention"),
    ("post", "/api/v1/retention/prune"),
    ("get", "/api/v1/storage"),
}
# Run comparison and version blame (issue 12).
ANALYSIS_OPERATIONS = {
    ("get", "/api/v1/executions/{execution_id}/compare/{other_id}"),
    ("get", "/api/v1/functions/{namespace}/{name}/blame"),
    ("get", "/api/v1/functions/{namespace}/{name}/flame"),
    ("get", "/api/v1/functions/{namespace}/{name}/flame/diff"),
}


def test_openapi_lists_every_endpoint_with_problem_responses(client: TestClient) -> None:
    document = client.get(f"{API}/openapi.json").json()
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert operations == (
        EXPECTED_OPERATIONS
        | ACCESS_OPERATIONS
        | UI_OPERATIONS
        | ANALYSIS_OPERATIONS
        | EXPORT_OPERATIONS
        | TEST_FROM_OPERATIONS
        | RETENTION_OPERATIONS
        | SHADOW_OPERATIONS
        | WORKERS_OPERATIONS
        | FIND_OPERATIONS
    )
    schemas = document["components"]["schemas"]
    assert {"Problem", "DeployRequest", "RunRequest", "ExecutionDetail", "StepOut"} <= set(schemas)
    assert "HTTPValidationError" not in schemas  # replaced by problem+json
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, item in document["paths"].items():
        if not path.startswith(API):
            continue
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("401", "403", "422"):
                assert responses[status]["content"] == {
                    "application/problem+json": {"schema": problem_ref}
                }, (method, path, status)
    run = document["paths"]["/api/v1/functions/{namespace}/{name}/executions"]["post"]
    assert {"200", "202", "404", "413", "422"} <= set(run["responses"])
    deploy = document["paths"]["/api/v1/functions/{namespace}/{name}"]["put"]
    assert {"200", "201", "413", "422"} <= set(deploy["responses"])
    tree = document["paths"]["/api/v1/executions/{execution_id}/tree"]["get"]
    assert "text/plain" in tree["responses"]["200"]["content"]
    diff = document["paths"]["/api/v1/functions/{namespace}/{name}/diff"]["get"]
    assert {p["name"] for p in diff["parameters"]} >= {"from", "to"}


def test_docs_are_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "/api/v1/openapi.json" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # everything the page loads is served here (no CDN), and no script is inline
    assert "//" not in response.text.replace("<!doctype", "")
    assert "<script>" not in response.text
    for asset in (
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon.png",
        "/static/js/api-docs.js",
    ):
        assert asset in response.text
        assert client.get(asset).status_code == 200, asset
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    for other in ("core.py", "..%2F__init__.py", "redoc.standalone.js"):
        assert client.get(f"/docs/assets/{other}").status_code == 404


def test_the_api_root_points_to_the_docs_without_a_key(client: TestClient) -> None:
    for path in ("/api/v1", "/api/v1/"):
        response = client.get(path, headers={"Authorization": ""})
        assert response.status_code == 200, path
        links = response.json()["links"]
        assert links["docs"] == "/docs" and links["openapi"] == "/api/v1/openapi.json"


def test_hostile_input_is_never_a_500(client: TestClient) -> None:
    json_type = {"content-type": "application/json"}
    # A lone surrogate is valid JSON but not text: refused with its position.
    body = b'{"code": "def f():\\n    return \'\\ud800\'\\n"}'
    response = client.put(f"{API}/functions/default/f", content=body, headers=json_type)
    problem = assert_problem(response, 422, "invalid-request")
    assert problem["field"] == "code" and "line 2, column 13" in problem["detail"]
    body = b'{"code": "def f():\\n    pass\\n", "description": "\\udfff"}'
    response = client.put(f"{API}/functions/default/f", content=body, headers=json_type)
    assert assert_problem(response, 422, "invalid-request")["field"] == "description"
    # Numbers too large for any version.
    huge = 10**30
    assert client.put(f"{API}/functions/default/f", json={"code": "def f():\n    pass\n"})
    response = client.get(f"{API}/functions/default/f/versions/{huge}")
    assert assert_problem(response, 422, "invalid-request")["field"] == "number"
    response = client.post(f"{API}/functions/default/f/executions", json={"version": huge})
    assert assert_problem(response, 422, "invalid-request")["field"] == "version"
    response = client.get(f"{API}/functions/default/f/diff", params={"from": 1, "to": huge})
    assert assert_problem(response, 422, "invalid-request")["field"] == "to"
    # JSON nested deeper than the parser goes; bytes that are not UTF-8.
    deep = b'{"code": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.put(f"{API}/functions/default/f", content=deep[:60_000], headers=json_type)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == "application/problem+json"
    response = client.put(
        f"{API}/functions/default/f", content=b'{"code": "\xe9"}', headers=json_type
    )
    assert assert_problem(response, 400, "invalid-request")["field"] == "body"
    # Odd path segments are just names that do not exist (or are invalid to deploy).
    assert_problem(client.get(f"{API}/functions/%ED%A0%80/x"), 404, "not-found")
    assert_problem(client.get(f"{API}/executions/%00"), 404, "not-found")
    response = client.put(f"{API}/functions/%ED%A0%80/x", json={"code": "def x():\n    pass\n"})
    assert_problem(response, 422, "invalid-name")


def test_runtree_errors_without_a_status_are_a_generic_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One handler answers every RuntreeError that names an HTTP status; one that does not
    (the server's own failure, here a store error) must not leak its text either."""
    from runtree.errors import StoreError

    def explode(namespace: str | None = None) -> None:
        raise StoreError("secret detail in /srv/runtree/private.db")

    monkeypatch.setattr(store_of(client), "list_functions", explode)
    response = client.get(f"{API}/functions")
    assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text and "StoreError" not in response.text


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("blame", {"runs": 0}, "runs"),
        ("blame", {"runs": MAX_RUNS + 1}, "runs"),
        ("blame", {"from": 0}, "from"),
        ("flame", {"version": 0}, "version"),
        ("flame", {"since": "yesterday"}, "since"),
        ("flame/diff", {"to": MAX_VERSION + 1}, "to"),
    ],
)
def test_history_parameters_out_of_range_name_the_parameter(
    client: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    # refused before anything is read: the function need not exist
    response = client.get(f"{API}/functions/default/f/{path}", params=params)
    assert assert_problem(response, 422, "invalid-request")["field"] == field
