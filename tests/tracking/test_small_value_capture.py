"""What a recorded call keeps of its arguments and result is capture.snapshot's result, on both
runtimes: the C hooks pickle small builtin values themselves (_hooks.c, "small builtin values"),
and must keep exactly the bytes capture.snapshot makes -- and hand everything else to it."""

from __future__ import annotations

import enum
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import runtree
from runtree.tracking import capture

SOURCE = """
def ident(x):
    return x


def pair(a, b):
    return [a, b]
"""


def load() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "small_values"}
    exec(runtree.instrument(SOURCE, "small_values.py"), namespace)
    return namespace


FUNCTIONS = load()

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.binary(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=5)
    ),
    max_leaves=40,
)


def kept(name: str, *args: Any, value_budget: int = capture.DEFAULT_VALUE_BUDGET) -> Any:
    """The raw snapshot of inputs and output of one recorded call, and what capture.snapshot
    and capture.snapshot_one make of the same values under the same policy."""
    with runtree.record(value_budget=value_budget) as rec:
        result = FUNCTIONS[name](*args)
    (record,) = rec.records.values()
    policy = rec.policy
    return (record[8], record[9]), (
        capture.snapshot(args, policy),
        capture.snapshot_one(result, policy),
    )


def same(found: Any, expected: Any) -> bool:
    """Snapshots compare by content: bytes, a Frozen's bytes, realized records, or the
    immutable values themselves."""
    if type(found) is not type(expected):
        return False
    if isinstance(found, capture.Frozen):
        return bool(found.blob == expected.blob)
    if isinstance(found, capture.Unpicklable):
        return [c.to_dict(include_blob=True) for c in found.captured] == [
            c.to_dict(include_blob=True) for c in expected.captured
        ]
    if isinstance(found, tuple):
        return len(found) == len(expected) and all(
            f is e or (type(f) is float and math.isnan(f) and math.isnan(e))
            for f, e in zip(found, expected, strict=True)
        )
    return bool(found == expected)


def check(name: str, *args: Any, value_budget: int = capture.DEFAULT_VALUE_BUDGET) -> None:
    (inputs, output), (want_inputs, want_output) = kept(name, *args, value_budget=value_budget)
    assert same(inputs, want_inputs), (inputs, want_inputs)
    assert same(output, want_output), (output, want_output)


@settings(max_examples=100, deadline=None)
@given(values, values)
def test_small_builtin_values_are_kept_as_capture_snapshot_makes_them(a: Any, b: Any) -> None:
    check("pair", a, b)
    check("ident", a)


class Colour(enum.IntEnum):
    RED = 1


def test_values_outside_the_small_builtin_shapes_go_to_capture_snapshot() -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    deep: Any = 0
    for _ in range(20):
        deep = [deep]
    for value in (
        cyclic,  # a cycle
        deep,  # nested deeper than the C bound
        list(range(200)),  # more items than the C bound
        {"k": "x" * 10_000},  # more text than the C bound
        [2**80, -(2**70)],  # ints past 64 bits
        [Colour.RED, True, 1.5],  # an int subclass
        {1, 2, 3},  # sets: always capture.snapshot
        [frozenset({1}), complex(1, 2), bytearray(b"ab")],
        ({"password": "hunter2"}, None),  # redaction happens when read, for both
    ):
        check("ident", value)
        check("pair", value, [value])


def test_a_small_value_over_a_tiny_value_budget_is_cut_as_capture_snapshot_cuts_it() -> None:
    words = [f"word {i}" for i in range(30)]  # about 330 bytes pickled, budget 64
    check("ident", words, value_budget=64)
    check("pair", words, 1, value_budget=64)
    (inputs, output), _ = kept("ident", words, value_budget=64)
    assert isinstance(inputs, capture.Unpicklable) and inputs.captured[0].truncated
    check("ident", ["ok"], value_budget=64)  # fits: pickled whole


def test_ints_around_the_inline_size_check_keep_capture_snapshot_bytes() -> None:
    # _hooks.c decides ints of at most two digits without a call, and asks CPython for the rest
    edges = [2**k + d for k in (29, 30, 31, 59, 60, 61, 62, 63, 64) for d in (-1, 0, 1)]
    for value in [*edges, *(-v for v in edges)]:
        check("ident", [value])
        check("pair", {"k": value}, (value,))
