"""Plain data is realized in one pass (tracking/plain_values.py), and that pass makes exactly
the record the general path makes -- preview, serialized copy, size, flags, type, length --
whatever the value, the budget and the secret names: where it cannot, it leaves the value to
the general path."""

from __future__ import annotations

import collections
import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtree.tracking import capture, plain_values
from runtree.tracking.capture import CapturePolicy


class Text(str):
    pass


SECRET_NAMES = ("password", "api_key", "authorization")
keys = st.sampled_from(["id", "name", "rows", "Password", "x-api-key", "Authorization", "k"]) | (
    st.text(max_size=12)
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**3990, max_value=2**4010)  # around the preview's int limit
    | st.floats()  # nan and infinities too
    | st.text(max_size=40)
    | st.text(min_size=10, max_size=3000)  # past max_str for small budgets
    | st.binary(max_size=300)
)
plain = st.recursive(  # mostly data the one pass takes
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.binary(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=5)
    ),
    max_leaves=30,
)
values = st.recursive(  # and everything that sends a value to the general path
    scalars | plain,
    lambda inner: (
        st.lists(inner, max_size=6)
        | st.lists(st.integers(0, 3), min_size=95, max_size=110)  # around MAX_ITEMS
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=5)
        | st.dictionaries(st.integers(), inner, max_size=2)  # keys that are not str
        | inner.map(lambda v: [[[[[[[[[v]]]]]]]]])  # past MAX_DEPTH
        | st.builds(collections.OrderedDict, st.dictionaries(keys, inner, max_size=3))
        | st.text(max_size=5).map(Text)
    ),
    max_leaves=40,
)
budgets = st.sampled_from([64, 100, 1024, 4096, 64 * 1024])


def general(value: Any, budget: int, policy: CapturePolicy, owned: bool) -> capture.Captured:
    saved = capture.realize_plain
    capture.realize_plain = lambda *args: None  # type: ignore[assignment]
    try:
        return capture.realize_value(value, budget, policy, owned=owned)
    finally:
        capture.realize_plain = saved


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself (a preview keeps a float as it is)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, capture.Captured):
        return all(
            same(getattr(a, field), getattr(b, field))
            for field in capture.Captured.__dataclass_fields__
        )
    return bool(a == b)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values | plain, budget=budgets, owned=st.booleans(), secrets=st.booleans())
def test_the_one_pass_makes_the_general_record(
    value: Any, budget: int, owned: bool, secrets: bool
) -> None:
    policy = CapturePolicy(value_budget=budget, secret_names=SECRET_NAMES if secrets else ())
    # An owned value may be redacted in place: each path gets a copy of its own.
    fast = capture.realize_value(copy.deepcopy(value), budget, policy, owned=owned)
    slow = general(copy.deepcopy(value), budget, policy, owned)
    assert same(fast, slow)


def test_plain_data_takes_the_one_pass_and_the_rest_does_not() -> None:
    policy = CapturePolicy()
    secret, rules = policy.secret_pattern, policy.rules
    headers = {"User-Agent": "python-requests/2.34", "Accept": "*/*", "n": [1, 2.5, None]}
    taken = plain_values.realize_plain(headers, 65536, secret, rules)
    assert taken is not None and taken[0] == headers
    for other in (
        {"Authorization": "Bearer x"},  # redaction: the general path
        {"when": math.inf},
        [object()],
        Text("subclass"),
        {1: "int key"},
        "x" * 70_000,  # past the budget: cut by the general path
    ):
        assert plain_values.realize_plain(other, 65536, secret, rules) is None, other


@pytest.mark.parametrize("budget", [64, 65536])
def test_strings_are_cut_as_the_previewer_cuts_them(budget: int) -> None:
    policy = CapturePolicy(value_budget=budget)
    value = {"a": "y" * 5000, "b": "z" * 40}
    assert same(capture.realize_value(value, budget, policy), general(value, budget, policy, False))
