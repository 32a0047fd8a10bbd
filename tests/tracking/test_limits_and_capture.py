"""Budgets, aggregation, capture, redaction and the guarantees around them."""

from __future__ import annotations

import hashlib
import threading

import pytest

import runtree
from tests.conftest import load_module

FIB = """
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
"""


def test_step_budget_aggregates_the_rest_under_the_nearest_recorded_step() -> None:
    ns = load_module(FIB)
    with runtree.record(step_budget=10) as rec:
        assert ns["fib"](15) == 610
    assert len(rec.steps) == 10
    total_calls = 1973  # calls fib(15) makes, itself included
    aggregated = sum(a.count for s in rec.steps for a in getattr(s, "aggregates", {}).values())
    assert len(rec.steps) + aggregated == total_calls
    text = rec.render()
    assert "fib ×" in text and "total" in text and "0 errors" in text
    # every aggregate hangs under a recorded step, and its time is not double counted
    for step in rec.steps:
        for agg in getattr(step, "aggregates", {}).values():
            assert agg.total_ns <= step.duration_ns
            assert agg.active == 0


def test_max_depth_aggregates_deeper_calls() -> None:
    ns = load_module("def down(n):\n    return 0 if n == 0 else 1 + down(n - 1)\n")
    with runtree.record(max_depth=5) as rec:
        assert ns["down"](50) == 50
    assert max(s.depth for s in rec.steps) == 5
    assert len(rec.steps) == 6
    deepest = rec.steps[-1]
    (agg,) = deepest.aggregates.values()
    assert agg.count == 45


def test_aggregate_counts_errors() -> None:
    ns = load_module(
        "def bad(n):\n    raise ValueError(n)\n"
        "def outer():\n    for i in range(5):\n        try:\n            bad(i)\n"
        "        except ValueError:\n            pass\n"
    )
    with runtree.record(step_budget=2) as rec:
        ns["outer"]()
    outer = rec.steps[0]
    (agg,) = outer.aggregates.values()
    assert (agg.count, agg.errors) == (4, 4)


def test_inputs_are_bound_by_name_with_defaults_varargs_and_kwargs() -> None:
    ns = load_module("def f(a, /, b, c=3, *rest, d, e=5, **extra):\n    return a\n")
    with runtree.record() as rec:
        ns["f"](1, 2, 30, 40, d=4, z=26)
    inputs = {k: v.preview for k, v in rec.steps[0].inputs.items()}
    assert inputs == {"a": 1, "b": 2, "c": 30, "rest": [40], "d": 4, "e": 5, "extra": {"z": 26}}


def test_inputs_are_captured_at_call_time() -> None:
    ns = load_module("def f(items):\n    items.append('later')\n    return len(items)\n")
    data = ["first"]
    with runtree.record() as rec:
        ns["f"](data)
    data.append("after")
    assert rec.steps[0].inputs["items"].preview == ["first"]
    assert rec.steps[0].output.preview == 2


def test_large_values_are_truncated_with_size_and_hash() -> None:
    ns = load_module("def f(blob, text):\n    return len(blob)\n")
    with runtree.record(value_budget=1024) as rec:
        ns["f"](b"x" * 100_000, "y" * 50_000)
    blob = rec.steps[0].inputs["blob"]
    assert blob.truncated and blob.blob is None
    # The exact size of the original and the digest of all of it (never of a prefix).
    assert blob.size == 100_000 and blob.sha256 == hashlib.sha256(b"x" * 100_000).hexdigest()
    text = rec.steps[0].inputs["text"]
    assert text.truncated and "[50000 chars]" in text.preview
    assert text.size == 50_000 and text.sha256 == hashlib.sha256(b"y" * 50_000).hexdigest()
    assert rec.steps[0].output.truncated is False


def test_secrets_are_redacted_by_parameter_and_key_name() -> None:
    ns = load_module(
        "def login(user, password, options):\n    return {'token': 'abc', 'user': user}\n"
    )
    with runtree.record() as rec:
        ns["login"]("ann", "hunter2", {"api_key": "k-123", "nested": [{"Authorization": "b"}]})
    step = rec.steps[0]
    assert step.inputs["password"].redacted and step.inputs["password"].preview == "[redacted]"
    assert step.inputs["password"].blob is None
    options = step.inputs["options"]
    assert options.redacted
    assert options.preview == {"api_key": "[redacted]", "nested": [{"Authorization": "[redacted]"}]}
    import pickle

    assert b"k-123" not in options.blob
    assert pickle.loads(options.blob)["api_key"] == "[redacted]"
    assert step.output.preview == {"token": "[redacted]", "user": "ann"}
    assert "hunter2" not in repr(rec.to_dict(include_blobs=True))


def test_secret_names_are_configurable() -> None:
    ns = load_module("def f(pin, password):\n    return 1\n")
    with runtree.record(secret_names=("pin",)) as rec:
        ns["f"]("1234", "visible")
    assert rec.steps[0].inputs["pin"].redacted
    assert rec.steps[0].inputs["password"].preview == "visible"


class Unfriendly:
    def __reduce__(self):
        raise RuntimeError("no pickling")

    def __repr__(self):
        raise RuntimeError("no repr")


def test_hostile_dunders_are_not_called_the_raw_state_is_captured() -> None:
    ns = load_module("def f(x):\n    return x\n")
    value = Unfriendly()
    value.n = 3
    with runtree.record() as rec:
        assert ns["f"](value) is value
    step = rec.steps[0]
    assert step.status == "completed"
    captured = step.inputs["x"]
    assert captured.format == "pickle" and captured.warning is None
    assert captured.preview == {"__type__": f"{__name__}.Unfriendly", "n": 3}


def test_unpicklable_parts_are_described_with_a_note() -> None:
    ns = load_module("def f(callback):\n    return callback(2)\n")
    with runtree.record() as rec:
        ns["f"](lambda x: x * 21)
    callback = rec.steps[0].inputs["callback"]
    assert callback.format == "pickle" and callback.blob is not None
    assert callback.preview["__type__"].endswith("<locals>.<lambda>")
    assert callback.warning and "described instead" in callback.warning
    assert rec.steps[0].output.preview == 42


def test_printed_output_goes_to_the_innermost_step(capsys: pytest.CaptureFixture[str]) -> None:
    ns = load_module(
        "def inner():\n    print('in inner')\n"
        "def outer():\n    print('before')\n    inner()\n    print('after')\n"
    )
    with runtree.record() as rec:
        ns["outer"]()
    assert capsys.readouterr().out == "before\nin inner\nafter\n"
    outer, inner = rec.steps
    assert outer.printed == "before\nafter\n"
    assert inner.printed == "in inner\n"


def test_printed_output_is_capped() -> None:
    ns = load_module("def f():\n    for _ in range(100):\n        print('x' * 99)\n")
    with runtree.record(stdout_budget=1000) as rec:
        ns["f"]()
    step = rec.steps[0]
    assert len(step.printed) == 1000
    assert step.to_dict()["stdout_truncated"] is True


def test_generator_left_open_is_interrupted_when_the_recording_closes() -> None:
    ns = load_module("def gen():\n    yield 1\n    yield 2\n")
    with runtree.record() as rec:
        it = ns["gen"]()
        next(it)
    assert rec.steps[0].status == "interrupted"
    assert list(it) == [2]  # still works after the recording
    assert rec.steps[0].status == "interrupted"


def test_no_steps_outside_a_recording_and_recordings_do_not_leak_between_threads() -> None:
    ns = load_module("def f(x):\n    return x\n")
    ns["f"](1)
    seen: list[int] = []

    def other_thread() -> None:
        seen.append(ns["f"](2))

    with runtree.record() as rec:
        ns["f"](3)
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    # The thread was started inside the recording: its call belongs to it (under the root).
    assert [s.inputs["x"].preview for s in rec.steps] == [3, 2]
    outside = threading.Thread(target=other_thread)
    outside.start()
    outside.join()
    assert len(rec.steps) == 2 and seen == [2, 2]


def test_nested_recordings_are_independent() -> None:
    ns = load_module("def f(x):\n    return x\n")
    with runtree.record() as outer:
        ns["f"](1)
        with runtree.record() as inner:
            ns["f"](2)
        ns["f"](3)
    assert [s.inputs["x"].preview for s in outer.steps] == [1, 3]
    assert [s.inputs["x"].preview for s in inner.steps] == [2]


def test_recording_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="step_budget"):
        runtree.record(step_budget=0)
    with pytest.raises(ValueError, match="value_budget"):
        runtree.record(value_budget=1)


def test_to_dict_is_flat_with_parent_ids() -> None:
    ns = load_module("def a():\n    return b()\ndef b():\n    return 1\n")
    with runtree.record() as rec:
        ns["a"]()
    data = rec.to_dict()
    assert [(s["id"], s["parent_id"], s["name"], s["depth"]) for s in data["steps"]] == [
        (1, None, "a", 0),
        (2, 1, "b", 1),
    ]
    import json

    json.dumps(data)  # JSON-safe without blobs


def test_captured_values_name_their_type_and_length_without_running_user_code() -> None:
    from runtree.tracking.capture import realize_value

    class Counted(list):  # type: ignore[type-arg]
        def __len__(self) -> int:
            raise AssertionError("capturing must not call a user-defined __len__")

    cases = [
        ([1, 2, 3], "list", 3),
        ((1,), "tuple", 1),
        ({"a": 1}, "dict", 1),
        ("hé", "str", 2),
        (b"\x00" * 5, "bytes", 5),
        ({1, 2}, "set", 2),
        (7, "int", None),
        (1.5, "float", None),
        (None, "NoneType", None),
    ]
    for value, kind, length in cases:
        got = realize_value(value, 65536)
        assert (got.type, got.length) == (kind, length), value
        assert got.to_dict()["type"] == kind
    counted = realize_value(Counted([1]), 65536)
    assert counted.type.endswith("Counted") and counted.length is None
    big = realize_value(list(range(100_000)), 1024)  # truncated: type and length still known
    assert big.truncated and (big.type, big.length) == ("list", 100_000)


def test_a_value_cut_at_call_time_still_names_its_type() -> None:
    with runtree.record(value_budget=1024) as rec:
        ns = load_module("def big(n):\n    return {'pad': 'x' * n, 'more': list(range(n))}\n")
        ns["big"](100_000)
    output = rec.steps[0].output
    assert output is not None and output.truncated
    assert (output.type, output.length) == ("dict", 2)
