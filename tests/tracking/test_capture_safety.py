"""Capture runs no code written in Python, stays bounded by the value budget, and is silent.

Every class below defines one hook with a side effect (``log``). The same source is loaded
three ways -- as a third-party library module (in ``sys.modules``, never instrumented), as an
instrumented user module executed in a plain dict (like ``runtree.instrument`` users do), and
as an instrumented module the worker registered -- and each value is captured as an argument
and a return value inside a recording and read back whole (previews, blobs): no hook may run.
"""

from __future__ import annotations

import copyreg
import gc
import io
import json
import pickle
import re
import sys
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import runtree
from runtree.tracking import capture, preview, raw_state, safe_pickle
from tests.conftest import load_module

SOURCE = """
import copyreg
import enum

CALLS = []


def log(name):
    CALLS.append(name)


class Reduce:
    def __init__(self):
        self.v = 1

    def __reduce__(self):
        log("__reduce__")
        return (Reduce, ())


class ReduceEx:
    def __init__(self):
        self.v = 1

    def __reduce_ex__(self, protocol):
        log("__reduce_ex__")
        return (ReduceEx, ())


class State:
    def __init__(self):
        self.v = 1

    def __getstate__(self):
        log("__getstate__")
        return {}

    def __setstate__(self, state):
        log("__setstate__")


class NewArgs:
    def __new__(cls, *args):
        log("__new__")
        return super().__new__(cls)

    def __init__(self, *args):
        log("__init__")
        self.v = 1

    def __getnewargs__(self):
        log("__getnewargs__")
        return ()

    def __getnewargs_ex__(self):
        log("__getnewargs_ex__")
        return ((), {})


class Text:
    def __init__(self):
        self.v = 1

    def __repr__(self):
        log("__repr__")
        return "Text()"

    def __str__(self):
        log("__str__")
        return "Text"

    def __format__(self, spec):
        log("__format__")
        return "Text"


class Sized:
    def __init__(self):
        self.v = [1, 2]

    def __len__(self):
        log("__len__")
        return 2

    def __iter__(self):
        log("__iter__")
        return iter(self.v)

    def __bool__(self):
        log("__bool__")
        return True


class Key:
    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        log("__eq__")
        return self is other

    def __hash__(self):
        log("__hash__")
        return 1


class Attr:
    def __init__(self):
        self.v = 1

    def __getattr__(self, name):
        log("__getattr__ " + name)
        raise AttributeError(name)


class AttrAll:
    def __init__(self):
        object.__setattr__(self, "v", 1)

    def __getattribute__(self, name):
        log("__getattribute__ " + name)
        return object.__getattribute__(self, name)


class Descriptor:
    def __get__(self, obj, owner=None):
        log("descriptor __get__")
        return 1

    def __set__(self, obj, value):
        log("descriptor __set__")


class Properties:
    d = Descriptor()

    def __init__(self):
        self._v = 1

    @property
    def v(self):
        log("property")
        return self._v

    @property
    def __class__(self):
        log("__class__")
        return int


class Slotted:
    __slots__ = ("a", "b", "__weakref__")

    def __init__(self):
        self.a = 1

    def __getattribute__(self, name):
        log("__getattribute__ " + name)
        return object.__getattribute__(self, name)


class Items(dict):
    def items(self):
        log("items")
        return super().items()

    def keys(self):
        log("keys")
        return super().keys()

    def values(self):
        log("values")
        return super().values()

    def __iter__(self):
        log("__iter__")
        return super().__iter__()

    def __getitem__(self, key):
        log("__getitem__")
        return super().__getitem__(key)

    def __len__(self):
        log("__len__")
        return super().__len__()


class Listy(list):
    def __iter__(self):
        log("__iter__")
        return super().__iter__()

    def __len__(self):
        log("__len__")
        return super().__len__()

    def __getitem__(self, index):
        log("__getitem__")
        return super().__getitem__(index)

    def __reduce_ex__(self, protocol):
        log("__reduce_ex__")
        return super().__reduce_ex__(protocol)


class Setty(set):
    def __iter__(self):
        log("__iter__")
        return super().__iter__()


class Deleted:
    def __init__(self):
        self.v = 1

    def __del__(self):
        log("__del__")


class Meta(type):
    def __getattribute__(cls, name):
        log("meta __getattribute__ " + name)
        return type.__getattribute__(cls, name)

    def __repr__(cls):
        log("meta __repr__")
        return "Meta"


class WithMeta(metaclass=Meta):
    pass


class Registered:
    def __init__(self):
        self.v = 1


def reduce_registered(obj):
    log("copyreg")
    return (Registered, ())


copyreg.pickle(Registered, reduce_registered)


class Color(enum.Enum):
    RED = 1
    BLUE = 2

    def __reduce_ex__(self, protocol):
        log("enum __reduce_ex__")
        return (Color, (1,))

    def __repr__(self):
        log("enum __repr__")
        return "Color.RED"


class Node:
    def __repr__(self):
        log("__repr__")
        return "Node"


Node.default = Node()


class Failure(Exception):
    def __str__(self):
        log("__str__")
        return "failure"

    def __reduce__(self):
        log("__reduce__")
        return (Failure, ())


CASES = {
    "reduce": lambda: Reduce(),
    "reduce_ex": lambda: ReduceEx(),
    "getstate": lambda: State(),
    "getnewargs": lambda: NewArgs(),
    "repr_str": lambda: Text(),
    "len_iter": lambda: Sized(),
    "eq_hash_key": lambda: {Key(1): Key(2)},
    "eq_hash_set": lambda: {Key(3), Key(4)},
    "eq_hash_value": lambda: Key(5),
    "getattr": lambda: Attr(),
    "getattribute": lambda: AttrAll(),
    "properties": lambda: Properties(),
    "slots": lambda: Slotted(),
    "dict_subclass": lambda: Items(a=Text(), password="p"),
    "list_subclass": lambda: Listy([Text(), 2]),
    "set_subclass": lambda: Setty({1, 2}),
    "del": lambda: Deleted(),
    "metaclass_class": lambda: WithMeta,
    "metaclass_instance": lambda: WithMeta(),
    "copyreg": lambda: Registered(),
    "enum": lambda: Color.BLUE,
    "self_holding_class": lambda: Node,
    "self_holding_instance": lambda: Node.default,
    "exception": lambda: Failure("x"),
    "nested": lambda: [{"k": (Text(), Sized())}, Items(x=Listy([AttrAll()]))],
}
"""

ECHO = "def echo(*values):\n    return values[0] if len(values) == 1 else values\n"


def _library() -> dict[str, Any]:
    module = types.ModuleType("capture_safety_lib")
    sys.modules[module.__name__] = module
    exec(compile(SOURCE, "capture_safety_lib.py", "exec"), module.__dict__)
    return module.__dict__


def _user() -> dict[str, Any]:
    return load_module(SOURCE, "capture_safety_user")


def _registered() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "capture_safety_worker"}
    raw_state.register_module("capture_safety_worker", namespace)
    exec(runtree.instrument(SOURCE, "capture_safety_worker.py"), namespace)
    return namespace


ORIGINS: dict[str, Callable[[], dict[str, Any]]] = {
    "library": _library,
    "user": _user,
    "registered": _registered,
}


@pytest.fixture(scope="module")
def namespaces() -> Iterator[dict[str, dict[str, Any]]]:
    loaded = {origin: make() for origin, make in ORIGINS.items()}
    yield loaded
    for namespace in loaded.values():
        copyreg.dispatch_table.pop(namespace["Registered"], None)
        namespace["CALLS"].clear()
    sys.modules.pop("capture_safety_lib", None)
    raw_state.user_modules.pop("capture_safety_worker", None)


def _read_everything(rec: runtree.Recording) -> list[dict[str, Any]]:
    steps = [step.to_dict(include_blobs=True) for step in rec.steps]
    for step in steps:
        json.dumps(
            {
                "inputs": {k: v["preview"] for k, v in step["inputs"].items()},
                "output": step["output"] and step["output"]["preview"],
            },
            allow_nan=False,
        )
        for value in [*step["inputs"].values(), step["output"]]:
            if value and value.get("blob"):
                pickle.loads(value["blob"])  # what a replay would do, in this process
    return steps


@pytest.mark.parametrize("origin", list(ORIGINS))
@pytest.mark.parametrize("case", re.findall(r'^    "(\w+)": lambda', SOURCE, re.MULTILINE))
def test_capture_runs_no_hook_of_the_value(
    namespaces: dict[str, dict[str, Any]], origin: str, case: str
) -> None:
    namespace = namespaces[origin]
    echo = load_module(ECHO)["echo"]
    value = namespace["CASES"][case]()
    calls: list[str] = namespace["CALLS"]
    calls.clear()
    stderr = io.StringIO()
    filters = list(warnings.filters)
    with redirect_stderr(stderr), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with runtree.record() as rec:
            assert echo(value) is value
            assert echo(value, [value], {"k": value}) is not None
        steps = _read_everything(rec)
        gc.collect()  # copies made by realize are dropped: no __del__ of theirs may run
    assert calls == []
    assert stderr.getvalue() == "" and caught == [] and warnings.filters == filters
    captured = steps[0]["inputs"]["values"]
    assert "__unreadable__" not in json.dumps(captured["preview"])
    assert rec.internal_errors == []


def test_values_of_registered_modules_round_trip_by_reference(
    namespaces: dict[str, dict[str, Any]],
) -> None:
    namespace = namespaces["registered"]
    echo = load_module(ECHO)["echo"]
    node = namespace["Node"]
    slotted = namespace["Slotted"]()
    namespace["CALLS"].clear()
    with runtree.record() as rec:
        echo(namespace["Color"].BLUE, node, node.default, slotted)
    (step,) = rec.steps
    copy = pickle.loads(step.inputs["values"].blob)
    assert copy[0] is namespace["Color"].BLUE and copy[1] is node
    assert type(copy[2]) is node and copy[2] is not node.default
    assert type(copy[3]) is namespace["Slotted"] and object.__getattribute__(copy[3], "a") == 1
    assert step.inputs["values"].warning is None
    assert step.inputs["values"].preview[0] == {
        "__type__": "capture_safety_worker.Color",
        "member": "BLUE",
    }
    assert namespace["CALLS"] == []


def test_raw_state_is_what_is_shown(namespaces: dict[str, dict[str, Any]]) -> None:
    namespace = namespaces["library"]
    echo = load_module(ECHO)["echo"]
    with runtree.record() as rec:
        echo(namespace["Properties"](), namespace["Items"](a=1, password="hunter2"))
    shown = rec.steps[0].inputs["values"].preview
    assert shown[0] == {"__type__": "capture_safety_lib.Properties", "_v": 1}
    assert shown[1] == {"a": 1, "password": "[redacted]"}
    assert b"hunter2" not in (rec.steps[0].inputs["values"].blob or b"")


def test_a_copyreg_reducer_registered_for_a_library_type_is_not_called() -> None:
    from fractions import Fraction

    calls: list[int] = []

    def reducer(value: Fraction) -> Any:
        calls.append(1)
        return (Fraction, (1, 2))

    copyreg.pickle(Fraction, reducer)
    try:
        echo = load_module(ECHO)["echo"]
        with runtree.record() as rec:
            echo(Fraction(3, 4))
        assert pickle.loads(rec.steps[0].inputs["values"].blob) == (Fraction(3, 4),)
    finally:
        copyreg.dispatch_table.pop(Fraction, None)
    assert calls == []


def test_library_reducers_outside_the_allow_list_are_not_called_unless_allowed() -> None:
    namespace = _library()
    try:
        value = namespace["Reduce"]()
        namespace["CALLS"].clear()
        capture.realize_value(value, 4096)
        assert namespace["CALLS"] == []
        allowed = capture.CapturePolicy(reducer_modules=("capture_safety_lib",))
        capture.realize_value(value, 4096, allowed)
        assert namespace["CALLS"] == ["__reduce__"]
    finally:
        copyreg.dispatch_table.pop(namespace["Registered"], None)


# --- bounded by the budget ---------------------------------------------------------------


def _nested(depth: int) -> list[Any]:
    outer: list[Any] = []
    inner = outer
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return outer


def test_a_100000_deep_list_is_captured_without_recursion_error() -> None:
    echo = load_module(ECHO)["echo"]
    value = _nested(100_000)
    with runtree.record() as rec:
        assert echo(value) is value
    captured = rec.steps[0].inputs["values"]
    assert captured.truncated and captured.warning
    assert "__unreadable__" not in json.dumps(captured.preview)
    assert rec.steps[0].output is not None and rec.internal_errors == []


def test_cyclic_values_are_captured_and_marked() -> None:
    echo = load_module(ECHO)["echo"]
    loop: list[Any] = [1]
    loop.append(loop)
    graph: dict[str, Any] = {"name": "a"}
    graph["self"] = {"back": graph}
    with runtree.record() as rec:
        echo(loop, graph)
    shown = rec.steps[0].inputs["values"].preview
    assert shown[0] == [1, {"__type__": "list", "cycle": True}]
    assert shown[1] == {"name": "a", "self": {"back": {"__type__": "dict", "cycle": True}}}
    copy = pickle.loads(rec.steps[0].inputs["values"].blob)
    assert copy[0][1] is copy[0] and copy[1]["self"]["back"] is copy[1]


def test_a_large_cyclic_graph_is_previewed_within_the_budget() -> None:
    nodes: list[dict[str, Any]] = [{"id": i} for i in range(100_000)]
    for index, node in enumerate(nodes):
        node["next"] = nodes[(index + 1) % len(nodes)]
        node["prev"] = nodes[index - 1]
    visits = _count_preview_visits()
    captured = capture.realize_value(nodes[0], 64 * 1024)
    assert captured.truncated and captured.blob is None
    assert visits() <= 64 * 1024 // 16 + 64


def _count_preview_visits() -> Callable[[], int]:
    count = [0]
    original = preview.Previewer.walk

    def counting(self: preview.Previewer, obj: Any, depth: int) -> Any:
        count[0] += 1
        return original(self, obj, depth)

    preview.Previewer.walk = counting  # type: ignore[method-assign]
    _restore.append(lambda: setattr(preview.Previewer, "walk", original))
    return lambda: count[0]


_restore: list[Callable[[], None]] = []


@pytest.fixture(autouse=True)
def _undo_patches() -> Iterator[None]:
    yield
    while _restore:
        _restore.pop()()


sizes = st.integers(0, 300_000)
big_values = st.one_of(
    sizes.map(lambda n: list(range(n))),
    sizes.map(lambda n: [str(i) * 3 for i in range(n // 3)]),
    sizes.map(lambda n: {i: [i] for i in range(n // 10)}),
    sizes.map(lambda n: b"x" * n),
    sizes.map(lambda n: "y" * n),
    st.integers(1, 50_000).map(_nested),
    sizes.map(lambda n: [{"password": "s", "v": list(range(10))}] * (n // 100)),
)


@settings(max_examples=40, deadline=None)
@given(value=big_values, budget=st.sampled_from([64, 1024, 64 * 1024]))
def test_capture_work_is_bounded_by_the_budget(value: Any, budget: int) -> None:
    written = [0]
    original_write = safe_pickle.BudgetSink.write

    def counting_write(self: safe_pickle.BudgetSink, data: Any) -> int:
        written[0] += min(len(data), self.limit + 1)
        return original_write(self, data)

    safe_pickle.BudgetSink.write = counting_write  # type: ignore[method-assign]
    visits = _count_preview_visits()
    try:
        policy = capture.CapturePolicy(value_budget=budget)
        snap = capture.snapshot((value,), policy)
        (captured,) = capture.realize(snap, 1, policy)
    finally:
        safe_pickle.BudgetSink.write = original_write  # type: ignore[method-assign]
    frame = 64 * 1024 + 64  # protocol 5 hands output over in frames of ~64 KiB
    assert written[0] <= 4 * (max(budget, frame) + 1)
    assert visits() <= budget // 16 + 200
    if captured.blob is not None:
        assert len(captured.blob) <= budget
    json.dumps(captured.preview, allow_nan=False)


def test_a_big_capture_does_not_slow_later_small_ones() -> None:
    policy = capture.CapturePolicy()
    capture.snapshot(([1, 2],), policy)
    small = safe_pickle._per_thread.state[1]
    capture.snapshot(([1, 2],), policy)
    assert safe_pickle._per_thread.state[1] is small  # reused while dumps stay small
    capture.snapshot(([str(i) for i in range(20_000)],), policy)  # memoizes 20,000 strings
    # The pickler whose memo grew is dropped: the next small dump does not pay for it.
    assert safe_pickle._per_thread.state[1] is not small
    fresh = safe_pickle._per_thread.state[1]
    capture.snapshot(([1, 2],), policy)
    assert safe_pickle._per_thread.state[1] is fresh


def test_an_unpicklable_type_is_learnt_once_and_described() -> None:
    import threading

    class Holder:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.n = 1

    policy = capture.CapturePolicy()
    lock_type = type(threading.Lock())
    policy.rules.failed.discard(lock_type)
    policy.rules.rules.pop(lock_type, None)
    snap = capture.snapshot((Holder(),), policy)
    assert lock_type in policy.rules.failed
    (captured,) = capture.realize(snap, 1, policy)
    assert captured.warning and "_thread.lock" in captured.warning
    assert captured.preview["n"] == 1 and captured.preview["lock"] == {"__type__": "_thread.lock"}
    assert isinstance(capture.snapshot((Holder(),), policy), bytes)  # no failure the 2nd time


def test_a_container_longer_than_the_budget_is_cut_with_its_exact_length_shown() -> None:
    echo = load_module("def take(x):\n    return len(x)\n")["take"]
    with runtree.record() as rec:
        echo(list(range(1_000_000)))
    captured = rec.steps[0].inputs["x"]
    assert captured.truncated and captured.blob is None and captured.sha256 is None
    assert captured.size >= 1_000_000 and "more than 65,536 bytes" in (captured.warning or "")
    assert captured.preview[-1] == "… 999900 more" and captured.preview[:3] == [0, 1, 2]


def test_itertools_objects_are_described_not_pickled() -> None:
    import itertools

    counter = itertools.count(5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        captured = capture.realize_value(counter, 4096)
    assert caught == []  # pickling them warns on Python 3.12+
    assert captured.preview == {"__type__": "itertools.count"}
    assert captured.warning and "itertools.count" in captured.warning
    assert next(counter) == 5  # not consumed


def test_huge_ints_are_previewed_by_size() -> None:
    captured = capture.realize_value({10**5000: 10**5000}, 64 * 1024)
    key = next(iter(captured.preview))
    assert key.startswith("<int of ") and captured.preview[key]["__type__"] == "int"


def test_a_module_argument_is_named_not_copied() -> None:
    captured = capture.realize_value(json, 64 * 1024)
    assert captured.preview == {"__type__": "module", "name": "json"}
    assert captured.warning and "described instead: module" in captured.warning
    assert captured.size < 1024  # its globals were not serialized


def test_copy_of_a_reducible_object_calls_its_reduce_once_as_without_runtree() -> None:
    """The issue's example: ``copy.copy(x)`` inside a recording called ``__reduce__`` 7 times."""
    ns = load_module(
        "import copy\n"
        "calls = []\n"
        "class Reducible:\n"
        "    def __reduce__(self):\n"
        "        calls.append(1)\n"
        "        return (Reducible, ())\n"
        "def dup(x):\n"
        "    return copy.copy(x)\n"
    )
    value = ns["Reducible"]()
    with runtree.record() as rec:
        copied = ns["dup"](value)
    _read_everything(rec)
    assert type(copied) is ns["Reducible"] and ns["calls"] == [1]
