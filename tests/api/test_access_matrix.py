"""The whole API x role matrix: every /api/v1 endpoint, called by every kind of key (each
role, globally and limited to namespace ``a``), against resources of namespace ``a`` and of
namespace ``b``; each call is allowed or denied exactly as the roles say.

Rules (``runtree.service.access``): viewer reads; runner also runs, cancels and replays;
developer also deploys and manages webhooks and schedules; admin also manages keys and reads
the audit log. A namespaced key acts in its namespace only: a path naming another namespace
is 403, a resource of another namespace looked up by id is 404 (its existence stays hidden).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from runtree.api import create_app
from runtree.settings import Settings

from .conftest import NullDispatcher, authorize_as_admin
from .helpers import API

RANK = {"viewer": 0, "runner": 1, "developer": 2, "admin": 3}
NEEDS = {
    "read": "viewer",
    "run": "runner",
    "deploy": "developer",
    "manage": "developer",
    "admin": "admin",
}
PRINCIPALS = [(role, None) for role in RANK] + [
    ("viewer", "a"),
    ("runner", "a"),
    ("developer", "a"),
]
CODE = "def f(x: int = 0):\n    return x\n"
_paths = itertools.count(1)


class World:
    """An app with functions, executions, webhooks, schedules and a delivery in two
    namespaces, ``a`` and ``b``, and one key per principal."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.admin = {"Authorization": client.headers.pop("Authorization")}
        self.exec: dict[str, str] = {}
        self.schedule: dict[str, int] = {}
        self.delivery: dict[str, str] = {}
        self.hook_exec: dict[str, str] = {}
        self.report: dict[str, str] = {}
        for ns in ("a", "b"):
            self.ok("PUT", f"/functions/{ns}/f", json={"code": CODE})
            self.exec[ns] = self.new_execution(ns)
            shadowed = self.ok(
                "PUT", f"/functions/{ns}/f?shadow=1", json={"code": CODE + "# shadowed\n"}
            )
            self.report[ns] = shadowed["shadow_report"]
            self.new_webhook(ns, f"hook-{ns}")
            self.schedule[ns] = self.new_schedule(ns)
            response = client.post(f"/hooks/hook-{ns}", json={"x": 1})
            assert response.status_code == 202, response.text
            page = self.ok("GET", f"/webhooks/hook-{ns}/deliveries")
            self.delivery[ns] = page["deliveries"][0]["id"]
            self.hook_exec[ns] = page["deliveries"][0]["execution_id"]
        self.keys: dict[tuple[str, str | None], str] = {}
        for role, ns in PRINCIPALS:
            body = {"role": role, "namespace": ns, "name": f"{role}@{ns or '*'}"}
            self.keys[(role, ns)] = self.ok("POST", "/keys", json=body)["key"]

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, API + path, headers=self.admin, **kwargs)
        assert response.status_code < 300, (method, path, response.text)
        return response.json()

    def new_execution(self, ns: str) -> str:
        body = {"input": {"x": 1}, "wait": False}
        return str(self.ok("POST", f"/functions/{ns}/f/executions", json=body)["id"])

    def new_webhook(self, ns: str, path: str | None = None) -> str:
        path = path or f"w{next(_paths)}"
        self.ok("POST", "/webhooks", json={"function": f"{ns}/f", "path": path})
        return path

    def new_schedule(self, ns: str) -> int:
        body = {"function": f"{ns}/f", "cron": "0 3 * * *", "input": {"x": 2}}
        return int(self.ok("POST", "/schedules", json=body)["id"])

    def new_key(self, ns: str) -> str:
        return str(self.ok("POST", "/keys", json={"role": "viewer"})["prefix"])

    def new_policy(self) -> str:
        """A retention policy's query (``/retention?...``), to remove it."""
        target = f"ns{next(_paths)}"
        self.ok("PUT", "/retention", json={"target": target, "keep_last": 5})
        return f"/retention?target={target}"


EVERY_NAMESPACE = "*"  # a Case's ns: it spans every namespace


@dataclasses.dataclass(frozen=True)
class Case:
    """One endpoint called on a resource of namespace ``ns`` (``None``: no namespace)."""

    method: str
    route: str  # the route's path template, as in the OpenAPI document
    needs: str  # read, run, deploy, manage, admin
    ns: str | None  # or EVERY_NAMESPACE
    by_id: bool  # the namespace comes from a resource looked up by id (404 when hidden)
    path: Callable[[World], str]
    body: Callable[[World], Any] = lambda _: None
    ok: tuple[int, ...] = (200,)


def _cases() -> Iterator[Case]:
    for ns in ("a", "b"):
        fn = f"/functions/{ns}/f"
        yield Case("GET", "/functions/{namespace}/{name}", "read", ns, False, lambda w, p=fn: p)
        yield Case(
            "GET",
            "/functions/{namespace}/{name}/versions",
            "read",
            ns,
            False,
            lambda w, p=fn: p + "/versions",
        )
        yield Case(
            "GET",
            "/functions/{namespace}/{name}/versions/{number}",
            "read",
            ns,
            False,
            lambda w, p=fn: p + "/versions/1",
        )
        yield Case(
            "GET",
            "/functions/{namespace}/{name}/diff",
            "read",
            ns,
            False,
            lambda w, p=fn: p + "/diff?from=1&to=1",
        )
        yield Case(
            "GET",
            "/functions/{namespace}/{name}/stats",
            "read",
            ns,
            False,
            lambda w, p=fn: p + "/stats",
        )
        yield Case(
            "GET",
            "/functions/{namespace}/{name}/shadow-reports",
            "read",
            ns,
            False,
            lambda w, p=fn: p + "/shadow-reports",
        )
        yield Case(
            "GET",
            "/functions/{namespace}/{name}/shadow-reports/{report_id}",
            "read",
            ns,
            False,
            lambda w, p=fn, n=ns: f"{p}/shadow-reports/{w.report[n]}",
        )
        yield Case(
            "POST",
            "/functions/{namespace}/{name}/versions/{number}/promote",
            "deploy",
            ns,
            False,
            lambda w, p=fn: p + "/versions/1/promote",
            lambda w: {},
        )
        for suffix in ("/flame", "/flame/diff", "/blame"):
            yield Case(
                "GET",
                "/functions/{namespace}/{name}" + suffix,
                "read",
                ns,
                False,
                lambda w, p=fn, s=suffix: p + s,
            )
        yield Case(
            "PUT",
            "/functions/{namespace}/{name}",
            "deploy",
            ns,
            False,
            lambda w, p=fn: p,
            lambda w: {"code": CODE + "# again\n"},
            (200, 201),
        )
        yield Case(
            "POST",
            "/functions/{namespace}/{name}/executions",
            "run",
            ns,
            False,
            lambda w, p=fn: p + "/executions",
            lambda w: {"wait": False},
            (202,),
        )
        for suffix in ("", "/tree", "/outline", "/steps", "/export"):
            yield Case(
                "GET",
                "/executions/{execution_id}" + suffix,
                "read",
                ns,
                True,
                lambda w, n=ns, s=suffix: f"/executions/{w.exec[n]}{s}",
            )
        yield Case(  # never run here (no dispatcher): it recorded no step to test
            "GET",
            "/executions/{execution_id}/test",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/executions/{w.exec[n]}/test",
            ok=(422,),
        )
        yield Case(
            "GET",
            "/executions/{execution_id}/compare/{other_id}",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/executions/{w.exec[n]}/compare/{w.hook_exec[n]}",
        )
        yield Case(
            "GET",
            "/executions/{execution_id}/delivery",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/executions/{w.hook_exec[n]}/delivery",
        )
        yield Case(
            "GET",
            "/executions/{execution_id}/steps/{step_id}",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/executions/{w.exec[n]}/steps/1",
            ok=(200, 404),
        )
        yield Case(
            "GET",
            "/executions/{execution_id}/world",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/executions/{w.exec[n]}/world",
        )
        yield Case(
            "POST",
            "/executions/{execution_id}/cancel",
            "run",
            ns,
            True,
            lambda w, n=ns: f"/executions/{w.new_execution(n)}/cancel",
        )
        yield Case(
            "POST",
            "/executions/{execution_id}/replay",
            "run",
            ns,
            True,
            lambda w, n=ns: f"/executions/{w.exec[n]}/replay",
            ok=(202,),
        )
        yield Case(
            "GET",
            "/webhooks/{webhook_path}",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/webhooks/hook-{n}",
        )
        yield Case(
            "GET",
            "/webhooks/{webhook_path}/deliveries",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/webhooks/hook-{n}/deliveries",
        )
        yield Case(
            "DELETE",
            "/webhooks/{webhook_path}",
            "manage",
            ns,
            True,
            lambda w, n=ns: f"/webhooks/{w.new_webhook(n)}",
        )
        yield Case(
            "GET",
            "/deliveries/{delivery_id}",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/deliveries/{w.delivery[n]}",
        )
        yield Case(
            "POST",
            "/deliveries/{delivery_id}/replay",
            "run",
            ns,
            True,
            lambda w, n=ns: f"/deliveries/{w.delivery[n]}/replay",
            ok=(202,),
        )
        yield Case(
            "POST",
            "/webhooks",
            "manage",
            ns,
            False,
            lambda w: "/webhooks",
            lambda w, n=ns: {"function": f"{n}/f", "path": f"new{next(_paths)}"},
            (201,),
        )
        yield Case(
            "GET",
            "/schedules/{schedule_id}",
            "read",
            ns,
            True,
            lambda w, n=ns: f"/schedules/{w.schedule[n]}",
        )
        for action in ("pause", "resume"):
            yield Case(
                "POST",
                "/schedules/{schedule_id}/" + action,
                "manage",
                ns,
                True,
                lambda w, n=ns, a=action: f"/schedules/{w.new_schedule(n)}/{a}",
            )
        yield Case(
            "DELETE",
            "/schedules/{schedule_id}",
            "manage",
            ns,
            True,
            lambda w, n=ns: f"/schedules/{w.new_schedule(n)}",
        )
        yield Case(
            "POST",
            "/schedules",
            "manage",
            ns,
            False,
            lambda w: "/schedules",
            lambda w, n=ns: {"function": f"{n}/f", "cron": "*/5 * * * *"},
            (201,),
        )
    for listing in ("/functions", "/executions", "/webhooks", "/schedules", "/whoami"):
        yield Case("GET", listing, "read", None, False, lambda w, p=listing: p)
    yield Case("GET", "/find", "read", None, False, lambda w: "/find?value=ada")
    yield Case("GET", "/keys", "admin", None, False, lambda w: "/keys")
    yield Case("GET", "/audit", "admin", None, False, lambda w: "/audit")
    # Every namespace's executions: keys limited to one namespace are refused.
    yield Case("GET", "/workers", "read", EVERY_NAMESPACE, False, lambda w: "/workers")
    yield Case(
        "POST",
        "/keys",
        "admin",
        None,
        False,
        lambda w: "/keys",
        lambda w: {"role": "viewer"},
        (201,),
    )
    yield Case(
        "DELETE", "/keys/{prefix}", "admin", None, False, lambda w: f"/keys/{w.new_key('a')}"
    )
    # Retention (issue 11): admin only, whatever the namespace.
    yield Case("GET", "/retention", "admin", None, False, lambda w: "/retention")
    yield Case("GET", "/storage", "admin", None, False, lambda w: "/storage")
    yield Case(
        "PUT",
        "/retention",
        "admin",
        None,
        False,
        lambda w: "/retention",
        lambda w: {"target": "a/f", "keep_days": 30},
    )
    yield Case("DELETE", "/retention", "admin", None, False, lambda w: w.new_policy())
    yield Case(
        "POST",
        "/retention/prune",
        "admin",
        None,
        False,
        lambda w: "/retention/prune",
        lambda w: {"dry_run": True},
    )


CASES = list(_cases())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/matrix.db", scheduler=False)
    with TestClient(create_app(settings, dispatcher=NullDispatcher())) as client:
        authorize_as_admin(client, settings)
        yield World(client)


def expected(case: Case, role: str, scope: str | None) -> str:
    """``allow``, ``403`` or ``404``."""
    if RANK[role] < RANK[NEEDS[case.needs]]:
        return "403"
    if case.ns == EVERY_NAMESPACE:
        return "allow" if scope is None else "403"
    if scope is None or case.ns is None or case.ns == scope:
        return "allow"
    return "404" if case.by_id else "403"


def test_every_endpoint_is_in_the_matrix(world: World) -> None:
    document = world.client.get(f"{API}/openapi.json").json()
    routes = {
        (method.upper(), path.removeprefix(API))
        for path, item in document["paths"].items()
        if path.startswith(API + "/")
        for method in item
    }
    assert routes == {(case.method, case.route) for case in CASES}


def test_the_role_matrix(world: World) -> None:
    failures = []
    tally = {"allow": 0, "403": 0, "404": 0}
    for (role, scope), case in itertools.product(PRINCIPALS, CASES):
        path = case.path(world)
        body = case.body(world)
        headers = {"Authorization": f"Bearer {world.keys[(role, scope)]}"}
        response = world.client.request(
            case.method, API + path, headers=headers, **({} if body is None else {"json": body})
        )
        want = expected(case, role, scope)
        tally[want] += 1
        got = response.status_code
        if want == "allow":
            good = got in case.ok and (got != 404 or response.json().get("kind") == "step")
        else:
            good = got == int(want)
        if not good:
            failures.append(
                f"{role}@{scope or '*'} {case.method} {path}: want {want}, got "
                f"{got} {response.text[:150]}"
            )
    assert not failures, "\n".join(failures)
    assert min(tally.values()) > 20  # every outcome is exercised many times


def test_no_key_a_wrong_key_and_a_revoked_key_are_401(world: World) -> None:
    revoked_key = world.ok("POST", "/keys", json={"role": "admin"})
    world.ok("DELETE", f"/keys/{revoked_key['prefix']}")
    wrong = {"Authorization": "Bearer rtk_000000000000_not-a-key"}
    for case in CASES:
        path = case.path(world)
        for headers in (
            {},
            wrong,
            {"Authorization": f"Bearer {revoked_key['key']}"},
            {"Authorization": f"Basic {revoked_key['key']}"},
        ):
            response = world.client.request(case.method, API + path, headers=headers)
            assert response.status_code == 401, (case.method, path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert revoked_key["key"] not in response.text


def test_namespaced_keys_list_only_their_namespace(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.keys[('viewer', 'a')]}"}
    get = lambda path: world.client.get(API + path, headers=headers)  # noqa: E731
    assert {f["namespace"] for f in get("/functions").json()["functions"]} == {"a"}
    assert {e["namespace"] for e in get("/executions").json()["executions"]} == {"a"}
    assert {w["namespace"] for w in get("/webhooks").json()["webhooks"]} == {"a"}
    assert {s["namespace"] for s in get("/schedules").json()["schedules"]} == {"a"}
    assert get("/functions?namespace=b").status_code == 403
    assert get("/executions?function=b/f").status_code == 403
    assert get("/webhooks?namespace=b").status_code == 403


def test_comparing_with_another_namespaces_execution_is_404(world: World) -> None:
    for role in ("viewer", "runner", "developer"):
        headers = {"Authorization": f"Bearer {world.keys[(role, 'a')]}"}
        for first, second in (("a", "b"), ("b", "a")):
            path = f"{API}/executions/{world.exec[first]}/compare/{world.exec[second]}"
            response = world.client.get(path, headers=headers)
            assert response.status_code == 404, (role, path, response.text)
            assert response.json()["kind"] == "execution"
    both = f"{API}/executions/{world.exec['a']}/compare/{world.exec['b']}"
    assert world.client.get(both, headers=world.admin).status_code == 200


def test_the_openapi_document_and_health_need_no_key(world: World) -> None:
    assert world.client.get(f"{API}/openapi.json", headers={}).status_code == 200
    assert world.client.get("/healthz", headers={}).status_code == 200


def test_admin_keys_cannot_be_namespaced_and_keys_are_shown_once(world: World) -> None:
    response = world.client.post(
        f"{API}/keys", json={"role": "admin", "namespace": "a"}, headers=world.admin
    )
    assert response.status_code == 422 and response.json()["field"] == "namespace"
    created = world.ok("POST", "/keys", json={"role": "runner", "name": "ci"})
    listed = world.ok("GET", "/keys")["keys"]
    assert created["key"].startswith(created["prefix"] + "_")
    assert all("key" not in k for k in listed)
    assert created["key"] not in world.client.get(f"{API}/keys", headers=world.admin).text
