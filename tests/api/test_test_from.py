"""``GET /executions/{id}/test``: the pytest file made from a recorded step, over HTTP; what a
worker recorded is untrusted, so hostile step documents must not turn into code."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .helpers import API, assert_problem, deploy, deploy_examples, run, store_of

pytestmark = pytest.mark.slow


def test_the_test_file_of_a_failing_step(live: TestClient, namespace: str, tmp_path: Path) -> None:
    deploy_examples(live, namespace)
    failed = run(live, namespace, "calculate_order_total", input={"customer_id": 3}).json()
    assert failed["status"] == "failed"
    url = f"{API}/executions/{failed['id']}/test"

    root = live.get(url)
    assert root.status_code == 200, root.text
    assert root.headers["content-type"].startswith("text/x-python")
    name = f"test_calculate_order_total_{failed['id'][:8]}_step1.py"
    assert root.headers["content-disposition"] == f'attachment; filename="{name}"'
    assert root.headers["runtree-step-id"] == "1"
    assert root.headers["runtree-stubbed-calls"] == "1"
    assert f"NAMESPACE = {namespace!r}" in root.text
    target = tmp_path / name
    target.write_text(root.text)
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout + ran.stderr

    by_name = live.get(url, params={"step": "get_customer", "live": True})
    assert by_name.status_code == 200 and by_name.headers["runtree-step-id"] == "2"
    assert "CALLS" not in by_name.text  # live: nothing stubbed

    assert_problem(live.get(url, params={"step": "99"}), 404, "not-found")
    assert_problem(live.get(url, params={"step": "x" * 301}), 422, "invalid-request")
    body = assert_problem(live.get(url, params={"step": "1 or 1"}), 422, "invalid-request")
    assert body["field"] == "step"
    assert_problem(live.get(f"{API}/executions/{'f' * 32}/test"), 404, "not-found")


def test_values_only_previewed_are_refused_naming_them(live: TestClient, namespace: str) -> None:
    deploy(live, namespace, "login", "def login(user: str, password: str):\n    return len(user)\n")
    ran = run(live, namespace, "login", input={"user": "ada", "password": "hunter2"}).json()
    url = f"{API}/executions/{ran['id']}/test"
    body = assert_problem(live.get(url), 422, "untestable-step")
    assert body["step"] == f"{ran['id']}:1"
    assert "input 'password' was redacted" in body["detail"]
    marked = live.get(url, params={"xfail": True})
    assert marked.status_code == 200, marked.text
    assert "redacted" in marked.headers["runtree-xfail-reason"]
    assert "@pytest.mark.xfail(strict=True" in marked.text


def test_hostile_step_documents_do_not_become_code(live: TestClient, namespace: str) -> None:
    """A worker may send anything: names, types and texts are checked or quoted, never
    spliced into the file as code."""
    deploy(live, namespace, "f", "def f(x):\n    return g(x)\n")
    deploy(live, namespace, "g", "def g(y):\n    return y\n")
    ran = run(live, namespace, "f", input={"x": 1}).json()
    store = store_of(live)
    evil = "__import__('os').system('echo pwned')"

    def captured(value: object) -> dict[str, object]:
        return {"preview": None, "size": 1, "format": "pickle", "blob": pickle.dumps(value, 5)}

    def step(step_id: int, parent: int | None, name: str, **extra: object) -> dict[str, object]:
        function = name.split(".")[0] if name in ("f", "g") else "f"
        return {
            "id": step_id,
            "parent_id": parent,
            "sequence": step_id,
            "name": name,
            "status": "failed",
            "started_at_ns": step_id,
            "function": f"{namespace}/{function}",
            "version": 1,
            **extra,
        }

    store.save_steps(
        ran["id"],
        [
            step(
                10,
                None,
                "f",
                inputs={"x": captured(1)},
                error={"type": f"g.Oops; {evil}", "message": "'''\nimport os"},
                stdout="\n" + evil,
            ),
            step(
                11,
                10,
                "g",
                inputs={"y": {**captured(1), "warning": f"\n{evil}"}},
                error={"type": f"g.Oops\n{evil}", "message": "x"},
            ),
            step(12, None, "f", inputs={f"x=1) or {evil} #": captured(1)}, error=None),
            step(13, None, f"f.{evil}", inputs={}, error=None),
        ],
    )
    url = f"{API}/executions/{ran['id']}/test"
    text = live.get(url, params={"step": "10"}).text
    tree = ast.parse(text)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "__import__" not in names and "system" not in attributes
    assert f"imported({f'g.Oops; {evil}'!r})" in text  # a malformed type name stays a string
    assert "raised g.Oops" not in text  # nor is it shown in the docstring
    for line in text.splitlines():
        if "pwned" in line:  # only inside string literals or one-line comments
            assert line.lstrip().startswith("#") or repr(evil)[1:-1] in line, line
    body = assert_problem(live.get(url, params={"step": "12"}), 422, "untestable-step")
    assert "is not a parameter of f" in body["detail"]
    assert_problem(live.get(url, params={"step": "13"}), 422, "untestable-step")
