"""Service rules: input validation against the entry point, deploy semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtree import service
from runtree.errors import InstrumentError
from runtree.execution.inputs import InputError
from runtree.store import Store

SOURCE = """
def order(customer_id: int, items: list[float], /, *, note: str | None = None, **extra):
    return customer_id
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(f"sqlite:///{tmp_path / 'runtree.db'}")
    yield opened
    opened.close()


def problems(error: InputError) -> dict[str, str]:
    return {p.parameter: p.message for p in error.problems}


def test_inputs_are_checked_before_anything_is_queued(store: Store) -> None:
    service.deploy(store, "default", "order", SOURCE)
    cases = {
        "customer_id": {"items": [1.0]},
        "items": {"customer_id": 1, "items": ["x"]},
        "note": {"customer_id": 1, "items": [], "note": 5},
    }
    for parameter, data in cases.items():
        with pytest.raises(InputError) as caught:
            service.start_execution(store, "default", "order", data)
        assert parameter in problems(caught.value), caught.value
    assert store.list_executions()[0] == []
    ok = service.start_execution(
        store, "default", "order", {"customer_id": 1, "items": [2], "anything": True}
    )
    assert ok.status == "queued"


def test_unknown_parameter_is_named_when_there_is_no_var_keyword(store: Store) -> None:
    service.deploy(store, "default", "strict", "def strict(a: int):\n    return a\n")
    with pytest.raises(InputError) as caught:
        service.start_execution(store, "default", "strict", {"a": 1, "b": 2})
    assert problems(caught.value) == {"b": "unknown parameter"}


def test_input_size_is_limited(store: Store) -> None:
    service.deploy(store, "default", "echo", "def echo(text: str):\n    return text\n")
    huge = "x" * (service.executions.MAX_INPUT_BYTES + 1)
    with pytest.raises(InputError) as caught:
        service.start_execution(store, "default", "echo", {"text": huge})
    assert "limit" in problems(caught.value)["input"]
    assert store.list_executions()[0] == []


def test_star_args_must_be_a_list() -> None:
    from runtree.execution.inputs import bind_input
    from runtree.instrument.signature import EntrySignature, Parameter

    signature = EntrySignature("f", False, (Parameter("rest", "var_positional"),))
    with pytest.raises(InputError) as caught:
        bind_input(signature, {"rest": 5})
    assert problems(caught.value) == {"rest": "must be a list of values"}


def test_identical_deploy_creates_nothing_and_a_change_creates_n_plus_1(store: Store) -> None:
    first = service.deploy(store, "default", "echo", "def echo(x):\n    return x\n")
    again = service.deploy(store, "default", "echo", "def echo(x):\n    return x\n")
    changed = service.deploy(store, "default", "echo", "def echo(x):\n    return [x]\n")
    other_settings = service.deploy(
        store,
        "default",
        "echo",
        "def echo(x):\n    return [x]\n",
        settings=service.make_settings(timeout_s=5),
    )
    assert (first.created, again.created, changed.created, other_settings.created) == (
        True,
        False,
        True,
        True,
    )
    assert [
        first.version.number,
        again.version.number,
        changed.version.number,
        other_settings.version.number,
    ] == [1, 1, 2, 3]


def test_bad_code_and_missing_entry_point_store_nothing(store: Store) -> None:
    with pytest.raises(InstrumentError) as caught:
        service.deploy(store, "default", "broken", "def broken(:\n    pass\n")
    assert (caught.value.lineno, caught.value.col) == (1, 12)
    with pytest.raises(InstrumentError, match="top-level function named 'absent'"):
        service.deploy(store, "default", "absent", "def present():\n    pass\n")
    assert store.list_functions() == []


@pytest.mark.parametrize("name", ["1x", "class", "a-b", "__x", "x" * 101])
def test_names_are_validated(store: Store, name: str) -> None:
    with pytest.raises(service.InvalidName):
        service.deploy(store, "default", name, "def f():\n    pass\n")


def test_warnings_keep_typos_but_not_calls_to_other_functions(store: Store) -> None:
    service.deploy(store, "default", "get_customer", "def get_customer(i):\n    return i\n")
    result = service.deploy(
        store,
        "default",
        "total",
        "def total(i):\n    c = get_customer(i)\n    return c + order\n",
    )
    messages = [w["message"] for w in result.version.warnings]
    assert messages == ["undefined name 'order'"]
    assert result.version.dependencies == ["get_customer", "order"]


def test_secret_inputs_are_stored_redacted_and_kept_apart_until_the_end(store: Store) -> None:
    service.deploy(
        store,
        "default",
        "login",
        "def login(user: str, password: str, options: dict):\n    return user\n",
    )
    execution = service.start_execution(
        store,
        "default",
        "login",
        {"user": "ann", "password": "hunter2", "options": {"api_key": "k-1", "n": 1}},
    )
    assert execution.input == {
        "user": "ann",
        "password": "[redacted]",
        "options": {"api_key": "[redacted]", "n": 1},
    }
    assert store.private_input(execution.id)["password"] == "hunter2"
    claimed = store.claim_execution(execution.id, "test")
    from runtree.execution.runner import ExecutionRunner

    job = ExecutionRunner(store, None).build_job(claimed)  # type: ignore[arg-type]
    assert job.kwargs == {
        "user": "ann",
        "password": "hunter2",
        "options": {"api_key": "k-1", "n": 1},
    }
    store.finish_execution(execution.id, status="succeeded", output="ann")
    assert store.private_input(execution.id) is None


def test_inputs_without_secrets_keep_nothing_apart(store: Store) -> None:
    service.deploy(store, "default", "echo", "def echo(x: int):\n    return x\n")
    execution = service.start_execution(store, "default", "echo", {"x": 1})
    assert execution.input == {"x": 1}
    assert store.private_input(execution.id) is None
