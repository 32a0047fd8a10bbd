"""Instrumented code runs with a ``__builtins__`` mapping of its own, as the original does.

The hooks are constants of the instrumented code (runtree.instrument.binding): nothing is
looked up in the function's globals or builtins, so a sandbox's restricted mapping, an empty
one, or a function rebuilt with ``types.FunctionType(code, {...})`` behaves exactly like the
plain code -- results, exceptions, tracebacks with their line numbers -- outside and inside a
recording, on both runtimes (``make test`` runs this module with each).
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import marshal
import pickle
import textwrap
import traceback
import types
from collections.abc import Callable
from typing import Any

import pytest

import runtree
from runtree.instrument.compiler import register_source
from runtree.tracking.runtime import FLAG

FILENAME = "sandboxed_program.py"
SOURCE = textwrap.dedent(
    """
    def outer(n):
        def inner(k):
            return k * 2

        return inner(n) + 1


    class Base:
        def describe(self):
            return "base"


    class Child(Base):
        def __init__(self, value):
            self.value = value

        def describe(self):
            return "child of " + super().describe()

        @staticmethod
        def twice(x):
            return x * 2

        @classmethod
        def make(cls, value):
            return cls(value)

        @property
        def doubled(self):
            return self.value * 2


    def with_lambda(items):
        key = lambda item: -item
        return sorted(items, key=key)


    def numbers(n):
        for i in range(n):
            received = yield i
            if received is not None:
                yield received


    def delegating(n):
        yield from numbers(n)
        return "done"


    def cleanup(path):
        try:
            return "opened " + path
        finally:
            path = None


    async def fetch(x):
        await asleep(0)
        return x + 1


    async def produce(n):
        for i in range(n):
            yield await fetch(i)


    async def gather_all():
        first = await fetch(1)
        rest = [item async for item in produce(3)]
        return first, rest


    def fails(x):
        def deeper(y):
            return {}[y]

        return deeper(x)


    def fails_in_generator():
        yield 1
        raise ValueError("from the generator")


    def fails_in_lambda():
        boom = lambda: 1 / 0
        return boom()


    def main():
        child = Child.make(3)
        gen = numbers(3)
        sent = [next(gen), gen.send("x"), next(gen), next(gen)]
        gen.close()
        return (
            outer(4),
            child.describe(),
            Child.twice(5),
            child.doubled,
            with_lambda([1, 3, 2]),
            sent,
            list(delegating(2)),
            cleanup("f"),
            run_async(gather_all()),
        )
    """
)
# What the program may use: a sandbox's short list (no __import__, no open, no print).
ALLOWED = (
    "range",
    "sorted",
    "len",
    "next",
    "list",
    "super",
    "staticmethod",
    "classmethod",
    "property",
    "ValueError",
    "KeyError",
    "ZeroDivisionError",
    "__build_class__",
)


def restricted_builtins() -> dict[str, Any]:
    return {name: getattr(builtins, name) for name in ALLOWED}


def _run_async(awaitable: Any) -> Any:
    return asyncio.run(awaitable)


def _asleep(delay: float) -> Any:
    return asyncio.sleep(delay)


def load(code: types.CodeType, namespace_builtins: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = {
        "__name__": "sandboxed_program",
        "__builtins__": namespace_builtins,
        "run_async": _run_async,
        "asleep": _asleep,
    }
    exec(code, namespace)
    return namespace


def plain_code() -> types.CodeType:
    register_source(SOURCE, FILENAME)  # tracebacks show the source lines in every run
    return compile(SOURCE, FILENAME, "exec", dont_inherit=True)


def instrumented_code() -> types.CodeType:
    return runtree.instrument(SOURCE, FILENAME)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call shows: its result, or its exception's formatted traceback (every frame of
    the program's file, with line numbers, source lines and carets)."""
    try:
        return "result", call()
    except Exception as exc:  # noqa: BLE001
        lines = traceback.format_exception(exc)
        # The test's own frames are the same in every run; keep the program's.
        return "error", [line for line in lines if "test_custom_builtins.py" not in line]


def outcomes(namespace: dict[str, Any]) -> list[tuple[str, Any]]:
    gen = namespace["fails_in_generator"]()
    return [
        outcome(namespace["main"]),
        outcome(lambda: namespace["fails"]("missing")),
        outcome(lambda: list(gen)),
        outcome(namespace["fails_in_lambda"]),
    ]


@pytest.mark.parametrize("mapping", ["restricted", "module", "own_dict_of_everything"])
def test_a_custom_builtins_mapping_sees_the_same_results_and_tracebacks(mapping: str) -> None:
    chosen: Any = {
        "restricted": restricted_builtins(),
        "module": builtins,
        "own_dict_of_everything": dict(vars(builtins)),
    }[mapping]
    expected = outcomes(load(plain_code(), chosen))
    assert expected[0][0] == "result"
    assert [kind for kind, _ in expected[1:]] == ["error"] * 3
    assert outcomes(load(instrumented_code(), chosen)) == expected
    recorded = load(instrumented_code(), chosen)
    with runtree.record() as rec:
        assert outcomes(recorded) == expected
    names = [step.name for step in rec.steps]
    assert names[:4] == ["main", "Child.make", "Child.__init__", "numbers"]
    for name in (
        "outer.<locals>.inner",
        "Child.describe",
        "Base.describe",
        "Child.twice",
        "Child.doubled",
        "with_lambda",
        "delegating",
        "cleanup",
        "gather_all",
        "produce",
        "fetch",
        "fails.<locals>.deeper",
        "fails_in_generator",
        "fails_in_lambda",
    ):
        assert name in names
    failed = {step.name: step.error["type"] for step in rec.steps if step.status == "failed"}
    assert failed == {
        "fails": "KeyError",
        "fails.<locals>.deeper": "KeyError",
        "fails_in_generator": "ValueError",
        "fails_in_lambda": "ZeroDivisionError",
    }


def test_a_function_rebuilt_with_an_empty_builtins_mapping() -> None:
    source = "def add(a, b):\n    return a + b\n\ndef missing():\n    return len([])\n"
    results = []
    for code in (compile(source, "rebuilt.py", "exec"), runtree.instrument(source, "rebuilt.py")):
        namespace: dict[str, Any] = {}
        exec(code, namespace)
        add = types.FunctionType(namespace["add"].__code__, {"__builtins__": {}})
        missing = types.FunctionType(namespace["missing"].__code__, {"__builtins__": {}})
        with runtree.record():
            results.append((outcome(lambda: add(1, 2)), outcome(missing)))
    assert results[1] == results[0]
    assert results[0][0] == ("result", 3)
    assert "NameError: name 'len' is not defined" in results[0][1][1][-1]


def _code_objects(code: types.CodeType) -> list[types.CodeType]:
    found = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found.extend(_code_objects(const))
    return found


def test_instrumented_code_names_only_what_the_original_names() -> None:
    plain = {c.co_qualname: c.co_names for c in _code_objects(plain_code())}
    instrumented = {c.co_qualname: c.co_names for c in _code_objects(instrumented_code())}
    assert instrumented == plain
    assert not [name for name in dir(builtins) if name.startswith("__runtree")]


def test_the_flag_constant_follows_recordings_and_code_objects_stay_ordinary() -> None:
    namespace = load(instrumented_code(), restricted_builtins())
    code = namespace["outer"].__code__
    assert any(const is FLAG for const in code.co_consts)
    assert not FLAG
    with runtree.record():
        assert FLAG
        with runtree.record():
            assert FLAG
        assert FLAG
    assert not FLAG
    assert hash(code) == hash(code.replace())
    assert code == code.replace()
    assert copy.deepcopy(code) is code
    assert pickle.loads(pickle.dumps(FLAG)) is FLAG


def test_dill_copies_instrumented_functions_that_are_still_recorded() -> None:
    dill = pytest.importorskip("dill")
    namespace: dict[str, Any] = {"__name__": "not_importable"}
    exec(runtree.instrument("def f(x):\n    return x + 1\n", "dilled.py"), namespace)
    copied = dill.loads(dill.dumps(namespace["f"]))
    assert copied is not namespace["f"] and copied(1) == 2
    with runtree.record() as rec:
        assert copied(2) == 3
    assert [(s.name, s.output.preview) for s in rec.steps] == [("f", 3)]


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason=(
        "DIFFERENCE: instrumented code holds runtree's hooks as constants, which marshal "
        "cannot write (marshal.dumps of its code object raises ValueError)"
    ),
)
def test_marshal_writes_instrumented_code() -> None:
    namespace: dict[str, Any] = {}
    exec(runtree.instrument("def f(x):\n    return x\n", "marshaled.py"), namespace)
    loaded = marshal.loads(marshal.dumps(namespace["f"].__code__))
    assert types.FunctionType(loaded, {})(1) == 1


def _many_names_source(count: int) -> str:
    """A function using ``count`` globals, attributes and constants before its return: the
    hook names after them get indexes past 255 (EXTENDED_ARG), those before are dropped, so
    every later name operand is renumbered."""
    globals_used = " + ".join(f"g{i}" for i in range(count))
    attributes = " + ".join(f"ns.a{i}" for i in range(count))
    constants = " + ".join(f"ns.a1 * {i}.5" for i in range(count))
    methods = " + ".join(f"ns.m{i}()" for i in range(3))
    return textwrap.dedent(
        f"""
        class Base:
            def hello(self):
                return "base"

        class Child(Base):
            def hello(self):
                return "child " + super().hello()

        def big(ns):
            total = {globals_used}
            total += {attributes}
            total += {constants}
            total += {methods}
            if total < 0:
                raise ValueError(total)
            return total, Child().hello()
        """
    )


def test_code_with_more_than_256_names_and_constants() -> None:
    count = 300
    source = _many_names_source(count)
    env: dict[str, Any] = {f"g{i}": i for i in range(count)}
    ns = types.SimpleNamespace(**{f"a{i}": i for i in range(count)})
    for i in range(3):
        setattr(ns, f"m{i}", lambda i=i: i)
    expected = None
    plain = compile(source, "big.py", "exec")
    instrumented = runtree.instrument(source, "big.py")
    for code, recorded in ((plain, False), (instrumented, False), (instrumented, True)):
        namespace = {
            **env,
            "__name__": "big",
            "__builtins__": {
                "__build_class__": builtins.__build_class__,
                "super": super,
                "ValueError": ValueError,
            },
        }
        exec(code, namespace)
        if recorded:
            with runtree.record() as rec:
                result = namespace["big"](ns)
            assert [s.name for s in rec.steps] == ["big", "Child.hello", "Base.hello"]
        else:
            result = namespace["big"](ns)
        expected = result if expected is None else expected
        assert result == expected
    big = next(c for c in _code_objects(instrumented) if c.co_name == "big")
    assert len(big.co_names) > 256 and len(big.co_consts) > 256
