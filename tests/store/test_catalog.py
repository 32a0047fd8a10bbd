"""Functions and versions: deploy idempotence, numbering, lookups, listings."""

from __future__ import annotations

import threading

import pytest

from runtree.models import ExecutionStatus, FunctionRecord, VersionRecord
from runtree.store import InvalidDataError, Store

from .store_helpers import deploy


def test_first_deploy_creates_function_and_version_1(store: Store) -> None:
    version, created = store.deploy_version(
        "default",
        "orders",
        source="def orders(): ...",
        settings={"timeout_s": 30, "memory_mb": 256, "tracking": True},
        sha256="a" * 64,
        warnings=[{"line": 1, "message": "w"}],
        dependencies=["json"],
        signature={"params": [{"name": "n", "kind": "positional"}]},
        description="Orders",
        created_by="alice",
    )
    assert created
    assert isinstance(version, VersionRecord)
    assert (version.namespace, version.name, version.number) == ("default", "orders", 1)
    assert version.settings == {"timeout_s": 30, "memory_mb": 256, "tracking": True}
    assert version.warnings == [{"line": 1, "message": "w"}]
    assert version.dependencies == ["json"]
    assert version.signature == {"params": [{"name": "n", "kind": "positional"}]}
    assert version.created_by == "alice"
    assert version.created_at.tzinfo is not None
    assert store.get_version("default", "orders") == version
    function = store.get_function("default", "orders")
    assert function is not None and function.description == "Orders"


def test_same_hash_returns_the_latest_version_unchanged(store: Store) -> None:
    first = deploy(store)
    again, created = store.deploy_version(
        "default", "orders", source="ignored", settings={}, sha256=first.sha256
    )
    assert not created
    assert again == first
    assert [v.number for v in store.list_versions("default", "orders")] == [1]


def test_new_hash_creates_n_plus_1(store: Store) -> None:
    v1 = deploy(store, source="def orders(): return 1")
    v2 = deploy(store, source="def orders(): return 2")
    v3 = deploy(store, source="def orders(): return 1")  # back to old code: still a new one
    assert [v1.number, v2.number, v3.number] == [1, 2, 3]
    assert [v.number for v in store.list_versions("default", "orders")] == [1, 2, 3]
    assert store.get_version("default", "orders") == v3
    assert store.get_version("default", "orders", 2) == v2
    assert store.get_version("default", "orders", 4) is None
    assert store.get_version_by_id(v2.id) == v2
    assert store.list_versions("default", "missing") == []
    assert store.get_version("default", "missing") is None


def test_numbering_is_per_function(store: Store) -> None:
    deploy(store, "a")
    deploy(store, "a", source="changed")
    b = deploy(store, "b")
    other_ns = deploy(store, "a", namespace="billing")
    assert b.number == 1
    assert other_ns.number == 1 and other_ns.namespace == "billing"


def test_description_is_replaced_only_when_given(store: Store) -> None:
    deploy(store, description="first")
    deploy(store, source="v2")
    function = store.get_function("default", "orders")
    assert function is not None and function.description == "first"
    deploy(store, source="v3", description="second")
    function = store.get_function("default", "orders")
    assert function is not None and function.description == "second"


def test_concurrent_deploys_never_collide(store: Store) -> None:
    barrier = threading.Barrier(6)
    results: list[tuple[VersionRecord, bool]] = []
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            # Two threads deploy each of three sources.
            source = f"def orders(): return {index % 3}"
            results.append(
                store.deploy_version(
                    "default", "orders", source=source, settings={}, sha256=f"{index % 3}" * 64
                )
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = [v.number for v in store.list_versions("default", "orders")]
    assert numbers == list(range(1, len(numbers) + 1))
    assert 3 <= len(numbers) <= 6
    assert sum(created for _, created in results) == len(numbers)


def test_concurrent_identical_first_deploys_create_one_version(store: Store) -> None:
    barrier = threading.Barrier(4)
    results: list[tuple[VersionRecord, bool]] = []

    def worker() -> None:
        barrier.wait()
        results.append(
            store.deploy_version("ns", "fresh", source="x", settings={}, sha256="f" * 64)
        )

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert sum(created for _, created in results) == 1
    assert {v.id for v, _ in results} == {results[0][0].id}
    assert len(store.list_functions("ns")) == 1


def test_list_functions_summarizes_versions_and_runs(store: Store) -> None:
    a1 = deploy(store, "a")
    deploy(store, "a", source="v2")
    b = deploy(store, "b", namespace="other")
    deploy(store, "c")
    store.enqueue_execution(version=a1, trigger="cli", input={}, versions={})
    last = store.enqueue_execution(version=a1, trigger="api", input={}, versions={})
    store.enqueue_execution(version=b, trigger="api", input={}, versions={})
    store.request_cancel(last.id)

    functions = store.list_functions()
    assert [(f.namespace, f.name) for f in functions] == [
        ("default", "a"),
        ("default", "c"),
        ("other", "b"),
    ]
    by_name = {f.name: f for f in functions}
    assert by_name["a"].current_version == 2
    assert by_name["a"].run_count == 2
    assert by_name["a"].last_execution_id == last.id
    assert by_name["a"].last_status == ExecutionStatus.CANCELLED
    assert by_name["c"] == FunctionRecord(
        id=by_name["c"].id,
        namespace="default",
        name="c",
        description=None,
        created_at=by_name["c"].created_at,
        current_version=1,
        latest_version=1,
        run_count=0,
        last_execution_id=None,
        last_status=None,
    )
    assert [f.name for f in store.list_functions("other")] == ["b"]
    assert store.list_functions("nobody") == []
    single = store.get_function("default", "a")
    assert single == by_name["a"]
    assert store.get_function("default", "zzz") is None


def test_current_versions_of_a_namespace(store: Store) -> None:
    deploy(store, "a")
    a2 = deploy(store, "a", source="v2")
    b1 = deploy(store, "b")
    deploy(store, "a", namespace="other", source="v1")
    assert store.current_versions("default") == {"a": a2, "b": b1}
    assert store.current_versions("empty") == {}


@pytest.mark.parametrize(("namespace", "name"), [("default", "not-valid"), ("1ns", "f"), ("", "f")])
def test_names_must_be_identifiers(store: Store, namespace: str, name: str) -> None:
    with pytest.raises(InvalidDataError):
        store.deploy_version(namespace, name, source="x", settings={}, sha256="a")


def test_settings_must_be_json(store: Store) -> None:
    with pytest.raises(InvalidDataError, match="settings"):
        store.deploy_version("default", "f", source="x", settings={"x": object()}, sha256="a")
    assert store.get_function("default", "f") is None


def test_a_functions_last_run_is_its_own_whatever_the_others_ran(store: Store) -> None:
    """The last run is found by walking the (function_id, id) index back from the function's
    end: a function whose run is older than the others' keeps it, one without runs whose
    neighbours have some gets none."""
    old = deploy(store, "old")
    first = store.enqueue_execution(version=old, trigger="api", input={}, versions={})
    busy = deploy(store, "busy")
    newest = [
        store.enqueue_execution(version=busy, trigger="api", input={}, versions={})
        for _ in range(3)
    ][-1]
    deploy(store, "idle")
    by_name = {f.name: f for f in store.list_functions()}
    assert by_name["old"].last_execution_id == first.id
    assert by_name["busy"].last_execution_id == newest.id and by_name["busy"].run_count == 3
    assert by_name["idle"].last_execution_id is None and by_name["idle"].last_status is None
    for name, function in by_name.items():
        assert store.get_function("default", name) == function
