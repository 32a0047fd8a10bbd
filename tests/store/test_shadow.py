"""Shadow replay in the store: current versions apart from the latest, the recorded runs a
shadow report replays, and shadow runs left out of every listing and statistic of normal
runs (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from runtree.errors import InvalidDataError, NotFoundError
from runtree.models import ExecutionRecord, Trigger, VersionRecord
from runtree.store import RunSpec, Store

from .store_helpers import deploy, make_step

ORDERS_V1 = "def orders(customer_id):\n    return helper(customer_id)\n"
HELPER_V1 = "def helper(customer_id):\n    return customer_id\n"
HELPER_V2 = "def helper(customer_id):\n    return customer_id * 2\n"


def _run(
    store: Store,
    version: VersionRecord,
    input: Any,
    versions: dict[str, int],
    *,
    status: str = "succeeded",
    trigger: Trigger = Trigger.CLI,
    report: str | None = None,
    replay_of: str | None = None,
) -> ExecutionRecord:
    """A finished run of ``version`` whose root step called ``helper`` once."""
    queued = store.enqueue_spec(
        RunSpec(
            version=version,
            input=input,
            versions=versions,
            trigger=trigger,
            replay_of=replay_of,
            shadow_report_id=report,
        )
    )
    assert store.claim_execution(queued.id, "test-worker") is not None
    steps = [
        make_step(1, name=version.name, function=version.qualified_name, version=version.number),
        make_step(
            2,
            parent_id=1,
            name="helper",
            function="default/helper",
            version=versions.get("helper"),
        ),
    ]
    return store.finish_execution(queued.id, status=status, output=1, steps=steps)


@pytest.fixture
def world(store: Store) -> dict[str, Any]:
    """orders v1 calling helper v1, a recorded run of each kind, helper v2 shadowed and one
    finished shadow run of it."""
    helper_v1 = deploy(store, "helper", HELPER_V1)
    orders = deploy(store, "orders", ORDERS_V1, dependencies=["helper"])
    pinned = {"orders": 1, "helper": 1}
    entry = _run(store, helper_v1, {"customer_id": 7}, {"helper": 1})
    called = _run(store, orders, {"customer_id": 42}, pinned)
    secret = _run(store, orders, {"customer_id": 1, "token": "[redacted]"}, pinned)
    cancelled = store.enqueue_spec(
        RunSpec(version=orders, input={"customer_id": 5}, versions=pinned, trigger=Trigger.CLI)
    )
    store.request_cancel(cancelled.id)
    helper_v2 = deploy(store, "helper", HELPER_V2, make_current=False)
    report, queued = store.create_shadow_report(
        version=helper_v2,
        baseline_version=1,
        requested=5,
        skipped=[{"execution_id": secret.id, "reason": "secret_input"}],
        runs=[
            RunSpec(
                version=orders,
                input=called.input,
                versions={"orders": 1, "helper": 2},
                trigger=Trigger.SHADOW,
                replay_of=called.id,
            )
        ],
    )
    assert store.claim_execution(queued[0].id, "test-worker") is not None
    steps = [
        make_step(1, name="orders", function="default/orders", version=1),
        make_step(2, parent_id=1, name="helper", function="default/helper", version=2),
    ]
    shadow = store.finish_execution(queued[0].id, status="succeeded", output=2, steps=steps)
    return {
        "entry": entry,
        "called": called,
        "secret": secret,
        "report": report,
        "shadow": shadow,
        "helper_v2": helper_v2,
    }


def test_a_shadowed_version_is_stored_but_not_current(store: Store, world: dict[str, Any]) -> None:
    function = store.get_function("default", "helper")
    assert function is not None
    assert (function.current_version, function.latest_version) == (1, 2)
    current = store.get_version("default", "helper")
    assert current is not None and current.number == 1
    assert store.current_version_numbers("default")["helper"][0] == 1
    assert store.current_versions("default")["helper"].number == 1
    assert store.set_current_version("default", "helper", 2) == 1
    assert store.current_version_numbers("default")["helper"][0] == 2
    assert store.set_current_version("default", "helper", 1) == 2  # a rollback
    with pytest.raises(NotFoundError):
        store.set_current_version("default", "helper", 9)
    with pytest.raises(NotFoundError):
        store.set_current_version("default", "nothing", 1)


def test_an_unchanged_deploy_makes_the_stored_version_current(
    store: Store, world: dict[str, Any]
) -> None:
    deploy(store, "helper", HELPER_V2)  # identical to v2: no v3, but v2 becomes current
    function = store.get_function("default", "helper")
    assert function is not None and (function.current_version, function.latest_version) == (2, 2)


def test_recorded_runs_are_entry_runs_and_runs_that_pinned_the_version(
    store: Store, world: dict[str, Any]
) -> None:
    taken, skipped = store.recorded_runs(
        "default",
        "helper",
        1,
        limit=10,
        skip=lambda r: "secret_input" if "token" in r.input else None,
    )
    # Newest first; the cancelled run and the shadow run are not recorded results.
    assert [r.id for r in taken] == [world["called"].id, world["entry"].id]
    assert [(r.id, why) for r, why in skipped] == [(world["secret"].id, "secret_input")]
    assert store.recorded_runs("default", "helper", 2, limit=10)[0] == []
    assert len(store.recorded_runs("default", "helper", 1, limit=1)[0]) == 1


def test_shadow_runs_belong_to_their_report(store: Store, world: dict[str, Any]) -> None:
    shadow = world["shadow"]
    assert shadow.trigger is Trigger.SHADOW
    assert shadow.shadow_report_id == world["report"].id
    assert shadow.replay_of == world["called"].id
    assert [r.id for r in store.shadow_runs(world["report"].id)] == [shadow.id]
    report = store.get_shadow_report(world["report"].id)
    assert report is not None and (report.version, report.baseline_version) == (2, 1)
    assert report.skipped == [{"execution_id": world["secret"].id, "reason": "secret_input"}]
    assert store.list_shadow_reports("default", "helper", version=2) == [report]
    assert store.list_shadow_reports("default", "helper", version=1) == []
    with pytest.raises(InvalidDataError):  # a shadow trigger without its report
        store.enqueue_spec(
            RunSpec(version=world["helper_v2"], input={}, versions={}, trigger=Trigger.SHADOW)
        )


def test_listings_and_statistics_leave_shadow_runs_out(store: Store, world: dict[str, Any]) -> None:
    shadow_id = world["shadow"].id
    normal = {world["entry"].id, world["called"].id, world["secret"].id}

    def ids(page: tuple[list[ExecutionRecord], str | None]) -> set[str]:
        return {r.id for r in page[0]}

    assert shadow_id not in ids(store.list_executions())
    assert shadow_id not in ids(store.list_executions(namespace="default", name="orders"))
    assert shadow_id not in ids(store.search_executions(text="42"))
    assert shadow_id in ids(store.list_executions(include_shadow=True))
    assert ids(store.list_executions(trigger="shadow")) == {shadow_id}
    assert normal <= ids(store.list_executions())
    # Statistics of the function that ran (orders v1): runs by status, durations, samples.
    counts = store.version_status_counts("default", "orders")
    assert counts == {1: {"succeeded": 2, "cancelled": 1}}
    assert len(store.recent_durations("default", "orders", 1)) == 2  # the cancelled never ran
    assert shadow_id not in store.recent_execution_ids("default", "orders", 1)
    # Function summaries: run counts, the last run, calls as a step of other runs.
    orders = store.get_function("default", "orders")
    assert orders is not None and orders.run_count == 3
    assert orders.last_execution_id != shadow_id
    helper = store.get_function("default", "helper")
    assert helper is not None and helper.step_count == 3  # one call in each recorded run
    listed = {f.name: f for f in store.list_functions("default")}
    assert listed["orders"].run_count == 3
    # Replays of the recorded run: a shadow run is not one.
    assert store.list_replays(world["called"]) == []
