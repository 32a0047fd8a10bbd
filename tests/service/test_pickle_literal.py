"""Reading recorded pickles of plain data as literals, without unpickling anything."""

from __future__ import annotations

import collections
import datetime
import os
import pickle
from typing import Any

import pytest

from runtree.service.pickle_literal import literal_source


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        42,
        -(2**100),
        -0.0,
        "Ada",
        "x" * 1000,
        b"\x00\xff",
        bytearray(b"ab"),
        [1, [2, [3]]],
        (1, ("a", None)),
        {"customer": "Ada", 42: [1.5], (1, 2): frozenset({3})},
        {1, 2},
        set(),
        [],
        {},
        (),
    ],
)
def test_plain_data_becomes_an_exact_literal(value: Any) -> None:
    source = literal_source(pickle.dumps(value, protocol=5))
    assert source is not None
    rebuilt = eval(
        source, {"__builtins__": {"set": set, "frozenset": frozenset, "bytearray": bytearray}}
    )  # noqa: S307
    assert rebuilt == value and type(rebuilt) is type(value)


class Boom:
    def __reduce__(self) -> Any:
        return (os.system, ("echo never",))


@pytest.mark.parametrize(
    "value",
    [
        Boom(),  # a reduce: GLOBAL + REDUCE opcodes, never run here
        datetime.date(2024, 1, 1),
        collections.OrderedDict(a=1),
        float("nan"),
        [[1]] * 2,  # a shared list: a literal would copy it
    ],
)
def test_anything_else_is_left_to_the_test(value: Any) -> None:
    assert literal_source(pickle.dumps(value, protocol=5)) is None


def test_bounds() -> None:
    deep: list[Any] = []
    for _ in range(100):
        deep = [deep]
    assert literal_source(pickle.dumps(deep, protocol=5)) is None
    text = "y" * 60_000
    assert literal_source(pickle.dumps([text] * 50, protocol=5)) is None  # memo repeats
    assert literal_source(b"not a pickle") is None
    assert literal_source(pickle.dumps(1, protocol=5)[:-1]) is None  # no STOP
