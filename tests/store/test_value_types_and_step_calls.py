"""What the UI labels values and counts runs with: a captured value's type and length, a
function's calls as a step, its description from the docstring (migration 0005)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from runtree.service.deploy import deploy as deploy_function
from runtree.service.deploy import docstring_summary
from runtree.store import InvalidDataError, Store, catalog
from runtree.store import migrate as migrations
from runtree.store.engine import create_store_engine

from .store_helpers import captured, deploy, make_step


def test_a_values_type_and_length_are_stored_and_read_back(store: Store) -> None:
    version = deploy(store, "orders")
    execution = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
    items = captured([1, 2, 3], b"\x80\x05]", type="list", length=3)
    store.save_steps(
        execution.id,
        [
            make_step(
                1,
                inputs={"items": items},
                output=captured({"__type__": "shop.Order"}, type="shop.Order"),
            )
        ],
    )
    (step,) = store.get_steps(execution.id)
    assert (step.inputs["items"]["type"], step.inputs["items"]["length"]) == ("list", 3)
    assert step.output is not None
    assert step.output["type"] == "shop.Order" and "length" not in step.output
    old = captured(5)  # recorded before types were kept: neither key
    store.save_steps(execution.id, [make_step(2, parent_id=1, inputs={"x": old})])
    assert "type" not in store.get_steps(execution.id)[1].inputs["x"]


@pytest.mark.parametrize(
    "bad", [{"type": 3}, {"type": "x" * 201}, {"length": -1}, {"length": True}, {"length": "3"}]
)
def test_a_bad_type_or_length_from_a_worker_is_refused(
    store: Store, bad: dict[str, object]
) -> None:
    version = deploy(store, "orders")
    execution = store.enqueue_execution(version=version, trigger="api", input={}, versions={})
    with pytest.raises(InvalidDataError):
        store.save_steps(execution.id, [make_step(1, inputs={"x": captured(1, **bad)})])
    assert store.get_steps(execution.id) == []


def test_calls_as_a_step_are_counted_apart_from_runs(store: Store) -> None:
    total = deploy(store, "total")
    deploy(store, "customer")
    execution = store.enqueue_execution(version=total, trigger="api", input={}, versions={})
    call = {"function": "default/customer"}
    store.save_steps(
        execution.id,
        [
            make_step(1, name="total", function="default/total"),
            make_step(2, parent_id=1, name="customer", **call),
            make_step(3, parent_id=1, name="customer", **call),
            make_step(4, parent_id=1, name="customer.helper", **call),  # a helper: not a call
            make_step(5, parent_id=1, name="customer", function="other/customer"),
        ],
    )
    by_name = {f.name: f for f in store.list_functions()}
    assert (by_name["total"].run_count, by_name["total"].step_count) == (1, 0)
    assert (by_name["customer"].run_count, by_name["customer"].step_count) == (0, 2)
    customer = store.get_function("default", "customer")
    assert customer is not None and customer.step_count == 2


def test_deploy_describes_a_function_by_its_docstring_unless_told(store: Store) -> None:
    source = 'def tax(amount):\n    """Tax on\n    an amount.\n\n    Details."""\n    return 1\n'
    deploy_function(store, "default", "tax", source)
    function = store.get_function("default", "tax")
    assert function is not None and function.description == "Tax on an amount."
    changed = source.replace("Tax on", "The tax on")
    deploy_function(store, "default", "tax", changed)  # follows the docstring
    function = store.get_function("default", "tax")
    assert function is not None and function.description == "The tax on an amount."
    deploy_function(store, "default", "tax", source + "# v2\n", description="Given.")
    deploy_function(store, "default", "tax", source + "# v3\n")  # a given one is kept
    function = store.get_function("default", "tax")
    assert function is not None and function.description == "Given."
    assert docstring_summary(None) is None and docstring_summary("  ") is None
    assert docstring_summary("word " * 100) == ("word " * 60).strip()[:299].rstrip() + "…"


def test_migration_0005_describes_existing_functions_from_their_docstrings(
    fresh_url: str,
) -> None:
    engine = create_store_engine(fresh_url)
    signature = {"name": "old", "parameters": [], "docstring": "Does old things.\n\nMore."}
    try:
        migrations.upgrade(engine, "0004")
        with engine.begin() as conn:
            for name, description in (("old", None), ("kept", "Kept.")):
                conn.execute(
                    text(
                        "INSERT INTO functions (namespace, name, description, created_at)"
                        " VALUES ('default', :n, :d, '2026-01-01 00:00:00')"
                    ),
                    {"n": name, "d": description},
                )
            for name in ("old", "kept"):
                for number, doc in ((1, "First."), (2, signature["docstring"])):
                    conn.execute(
                        text(
                            "INSERT INTO versions (function_id, number, sha256, source, settings,"
                            " warnings, dependencies, signature, created_at) SELECT id, :num, :sha,"
                            " 'x', '{}', '[]', '[]', :sig, '2026-01-01 00:00:00' FROM functions"
                            " WHERE name = :n"
                        ),
                        {
                            "num": number,
                            "sha": f"{name}{number}",
                            "n": name,
                            "sig": json.dumps({**signature, "docstring": doc}),
                        },
                    )
    finally:
        engine.dispose()
    with Store(fresh_url) as store:
        old = store.get_function("default", "old")
        kept = store.get_function("default", "kept")
        assert old is not None and old.description == "Does old things."
        assert kept is not None and kept.description == "Kept."


def test_counting_calls_as_a_step_stops_at_the_cap(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fib = deploy(store, "fib")
    execution = store.enqueue_execution(version=fib, trigger="api", input={}, versions={})
    store.save_steps(
        execution.id,
        [make_step(1, name="fib", function="default/fib")]
        + [make_step(i, parent_id=i - 1, name="fib", function="default/fib") for i in range(2, 8)],
    )
    assert store.list_functions()[0].step_count == 6
    monkeypatch.setattr(catalog, "STEP_COUNT_CAP", 4)
    assert store.list_functions()[0].step_count == 4
    fetched = store.get_function("default", "fib")
    assert fetched is not None and fetched.step_count == 4
