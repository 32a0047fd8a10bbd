"""bind_hooks: the hook names of compiled code become constants, and nothing else changes."""

from __future__ import annotations

import textwrap
import types
from typing import Any

from runtree.instrument.binding import bind_hooks
from runtree.tracking.runtime import FLAG, HOOKS

# Written with the hook names directly, as the rewrite emits them (compiled as it is).
SOURCE = textwrap.dedent(
    """
    def plain(x):
        if __runtree_on__:
            try:
                __runtree_enter__(("m",), x)
            except __runtree_recursion_error__:
                pass
        return (__runtree_done__(("m",), x) if __runtree_on__ else x)

    def outer():
        def inner(y):
            try:
                return y.missing
            except __runtree_base_exception__:
                if __runtree_on__:
                    __runtree_fail__(("i",))
                raise
        return inner

    class K:
        def gen(self):
            received = (__runtree_resume__((yield __runtree_yield__(1)))
                        if __runtree_on__ else (yield 1))
            return received
    """
)


def code_objects(code: types.CodeType) -> list[types.CodeType]:
    found = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found.extend(code_objects(const))
    return found


def test_sizes_lines_positions_and_exception_tables_are_kept() -> None:
    code = compile(SOURCE, "binding.py", "exec", dont_inherit=True)
    bound = bind_hooks(code, HOOKS)
    pairs = list(zip(code_objects(code), code_objects(bound), strict=True))
    assert len(pairs) == 6
    for before, after in pairs:
        assert after.co_qualname == before.co_qualname
        assert len(after.co_code) == len(before.co_code)
        assert after.co_linetable == before.co_linetable
        assert after.co_exceptiontable == before.co_exceptiontable
        assert list(after.co_positions()) == list(before.co_positions())
        assert list(after.co_lines()) == list(before.co_lines())
        assert after.co_stacksize == before.co_stacksize
        assert not set(after.co_names) & set(HOOKS)
        kept = after.co_consts[: len(before.co_consts)]
        for old, new in zip(before.co_consts, kept, strict=True):
            assert new is old or (isinstance(old, types.CodeType) and new.co_name == old.co_name)
    plain = next(after for _, after in pairs if after.co_name == "plain")
    assert any(const is FLAG for const in plain.co_consts)


def test_code_without_hook_names_is_returned_as_it_is() -> None:
    code = compile("def f(x):\n    return len(x)\n", "none.py", "exec", dont_inherit=True)
    assert bind_hooks(code, HOOKS) is code


def test_a_hook_name_used_otherwise_keeps_its_name() -> None:
    # The same co_names entry serves an attribute: it stays, the global load is bound.
    source = "def f(o):\n    if __runtree_on__:\n        return 0\n    return o.__runtree_on__\n"
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(bind_hooks(compile(source, "attr.py", "exec"), HOOKS), namespace)
    f = namespace["f"]
    assert f.__code__.co_names == ("__runtree_on__",)
    assert f(types.SimpleNamespace(__runtree_on__="attribute")) == "attribute"
