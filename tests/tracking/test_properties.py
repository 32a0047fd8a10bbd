"""Property tests: argument binding for arbitrary signatures; capture never raises."""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runtree
from runtree.tracking import capture
from tests.conftest import load_module

NAMES = [f"p{i}" for i in range(10)]


@st.composite
def signatures(draw: st.DrawFn) -> str:
    names = iter(draw(st.permutations(NAMES)))
    parts: list[str] = []
    posonly = [next(names) for _ in range(draw(st.integers(0, 2)))]
    normal = [next(names) for _ in range(draw(st.integers(0, 3)))]
    positional = posonly + normal
    n_defaults = draw(st.integers(0, len(positional)))
    for index, name in enumerate(positional):
        has_default = index >= len(positional) - n_defaults
        parts.append(f"{name}={index * 10}" if has_default else name)
        if posonly and index == len(posonly) - 1:
            parts.append("/")
    if draw(st.booleans()):
        parts.append(f"*{next(names)}")
        star = True
    else:
        star = False
    kwonly = [next(names) for _ in range(draw(st.integers(0, 2)))]
    if kwonly and not star:
        parts.append("*")
    for name in kwonly:
        parts.append(f"{name}=-1" if draw(st.booleans()) else name)
    if draw(st.booleans()):
        parts.append(f"**{next(names)}")
    return ", ".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    signature=signatures(),
    args=st.lists(st.integers(-5, 5), max_size=5),
    kwargs=st.dictionaries(st.sampled_from([*NAMES, "zz"]), st.integers(-5, 5), max_size=4),
)
def test_inputs_bind_like_inspect_signature(
    signature: str, args: list[int], kwargs: dict[str, int]
) -> None:
    # The reference binding is Python's own: the plain function returns its locals on entry.
    plain: dict[str, Any] = {}
    exec(compile(f"def f({signature}):\n    return dict(locals())\n", "plain.py", "exec"), plain)
    ns = load_module(f"def f({signature}):\n    return 7\n")
    sig = inspect.signature(plain["f"])
    assert inspect.signature(ns["f"]) == sig
    try:
        bound = plain["f"](*args, **kwargs)
    except TypeError:
        bound = None
    with runtree.record() as rec:
        try:
            result = ns["f"](*args, **kwargs)
        except TypeError as error:
            assert bound is None, error
            assert rec.steps == []  # a call that cannot bind never starts
            return
    assert bound is not None and result == 7
    expected = {name: list(v) if isinstance(v, tuple) else v for name, v in bound.items()}
    (step,) = rec.steps
    assert {k: v.preview for k, v in step.inputs.items()} == expected
    assert list(step.inputs) == list(sig.parameters)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=200)
values = st.recursive(
    json_scalars | st.binary(max_size=300) | st.complex_numbers(),
    lambda children: (
        st.lists(children, max_size=8)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=10), children, max_size=8)
        | st.frozensets(st.integers(), max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=values, budget=st.integers(64, 4096))
def test_capture_never_raises_and_respects_the_budget(value: Any, budget: int) -> None:
    policy = capture.CapturePolicy(value_budget=budget)
    snap = capture.snapshot((value,), policy)
    (captured,) = capture.realize(snap, 1, policy)
    json.dumps(captured.preview, allow_nan=False)  # JSON-safe, always
    if captured.blob is not None:
        assert len(captured.blob) <= budget and not captured.truncated
    if captured.size > budget:
        assert captured.truncated and captured.blob is None
        # A digest only where it covers the whole original (a cut str or bytes).
        assert (captured.sha256 is not None) == isinstance(value, str | bytes)
    else:
        assert not captured.truncated


@settings(max_examples=100, deadline=None)
@given(value=values)
def test_recorded_values_round_trip(value: Any) -> None:
    ns = load_module("def echo(v):\n    return v\n")
    with runtree.record() as rec:
        ns["echo"](value)
    (step,) = rec.steps
    import pickle

    for captured in (step.inputs["v"], step.output):
        assert captured is not None
        if captured.blob is not None and not captured.redacted:
            restored = pickle.loads(captured.blob)
            assert _same(restored, value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, complex) and isinstance(b, complex):
        return _same(a.real, b.real) and _same(a.imag, b.imag)
    return bool(a == b)
