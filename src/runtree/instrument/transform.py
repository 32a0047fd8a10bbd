"""The AST rewrite that makes every call of a user's function a step.

Each instrumented def keeps its signature, decorators, docstring and line numbers; its body is
wrapped in one ``try`` statement. ``R`` and ``B`` are ``__runtree_recursion_error__`` and
``__runtree_base_exception__`` (aliases of ``RecursionError`` and ``BaseException`` that user
code cannot shadow), ``ON`` is ``__runtree_on__`` (true inside a recording), and every hook
call is guarded the same way: ``if ON: try: <hook> except R: pass``. These names exist only
between this rewrite and the compiler: :mod:`.binding` then makes each of them a constant of
the compiled code, holding the object itself (so nothing is looked up in the user's globals
or builtins, and ``co_names`` is the original's).

**The usual shape**, for a function where no user code can run between a ``return`` and the
end of the call (no ``return`` inside a ``try`` with a ``finally``, or inside a ``with``): the
return hook also finishes the call, and there is no ``finally`` at all -- one hook call per
call fewer, and no extra line events for tracers::

    def f(a, b=2):
        "doc"
        try:
            if ON:
                try:
                    __runtree_enter__(META, a, b)
                except R:
                    pass
            <original body; ``return x`` becomes
             ``return (__runtree_done__(META, x) if ON else x)``>
            if ON:                                  # falling off the end returns None
                try:
                    __runtree_done__(META, None)
                except R:
                    pass
        except B:
            if ON:
                try:
                    __runtree_fail__(META)
                except R:
                    pass
            raise

**The cleanup shape**, where a ``return`` sits inside a ``finally``-protected ``try`` or a
``with`` (its cleanup code still runs, and may raise, after the return value is known): the
return hook only records the value, and a ``finally`` ends the call::

    def f(a, b=2):
        "doc"
        try:
            if ON:
                try:
                    __runtree_enter__(META, a, b)
                except R:
                    pass
            <original body; ``return x`` becomes
             ``return (__runtree_return__(META, x) if ON else x)``>
        except B:
            if ON:
                try:
                    __runtree_error__(META)
                except R:
                    pass
            raise
        finally:
            if ON:
                try:
                    __runtree_exit__(META)
                except R:
                    pass

In generators (either shape) each ``yield`` gets a hook on either side, and each statement
holding one is wrapped so that ``throw()`` and ``close()`` resume it too.

Why this shape:

* no wrapper function: the call adds no frame, so tracebacks, ``sys._getframe`` depth,
  ``super()``, ``__class__``, introspection and decorators are untouched;
* no new local variable: the runtime finds a call's step through the frame, so ``locals()``,
  ``co_varnames`` and ``inspect.signature`` are exactly the user's;
* outside a recording the added code makes no call at all (a constant's truth test and a
  jump per hook), so even the recursion limit is exactly the original's; inside a recording a hook
  that would overflow the stack is skipped rather than raising;
* a bare ``raise`` re-raises without adding a traceback entry: tracebacks are unchanged.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any, TypeVar

from ..tracking.meta import ASYNC, BOUND_FIRST, GENERATOR, make_meta

FLAG = "__runtree_on__"
ENTER = "__runtree_enter__"
ERROR = "__runtree_error__"
EXIT = "__runtree_exit__"
RETURN = "__runtree_return__"
DONE = "__runtree_done__"
FAIL = "__runtree_fail__"
YIELD = "__runtree_yield__"
RESUME = "__runtree_resume__"
RECURSION_ERROR = "__runtree_recursion_error__"
BASE_EXCEPTION = "__runtree_base_exception__"  # user modules may shadow ``BaseException``

_Function = ast.FunctionDef | ast.AsyncFunctionDef
_F = TypeVar("_F", ast.FunctionDef, ast.AsyncFunctionDef)
_N = TypeVar("_N", bound=ast.AST)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_TRY_STAR: Any = getattr(ast, "TryStar", ast.Try)  # ``except*`` (3.11+)


class Instrumenter(ast.NodeTransformer):
    """Rewrites every function definition of a module (see the module docstring)."""

    def __init__(self, filename: str, version: Any, opted_out_lines: set[int]) -> None:
        self.filename = filename
        self.version = version
        self.opted_out_lines = opted_out_lines
        # Enclosing scopes: (kind "class" | "function", its __qualname__, names it declares
        # global).
        self.scopes: list[tuple[str, str, frozenset[str]]] = []
        self.instrumented: list[str] = []

    # --- scopes ---------------------------------------------------------------------------

    def _qualname(self, name: str) -> str:
        """``__qualname__`` as the compiler builds it: ``C.m``, ``f.<locals>.g``, and a bare
        name for a def declared ``global`` in the function around it."""
        if not self.scopes:
            return name
        kind, outer, global_names = self.scopes[-1]
        if kind == "function":
            return name if name in global_names else f"{outer}.<locals>.{name}"
        return f"{outer}.{name}"

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        self.scopes.append(("class", self._qualname(node.name), frozenset()))
        self.generic_visit(node)
        self.scopes.pop()
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AsyncFunctionDef:
        return self._visit_function(node)

    def _opted_out(self, node: _Function) -> bool:
        if node.lineno in self.opted_out_lines:
            return True
        return bool(node.decorator_list) and node.decorator_list[0].lineno in self.opted_out_lines

    def _visit_function(self, node: _F) -> _F:
        if self._opted_out(node):
            return node  # the def and everything inside it stay untouched
        in_class = bool(self.scopes) and self.scopes[-1][0] == "class"
        qualname = self._qualname(node.name)
        # Decorators, defaults and annotations belong to the enclosing scope.
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        self.visit(node.args)
        if node.returns is not None:
            node.returns = self.visit(node.returns)
        self.scopes.append(("function", qualname, _declared_global(node)))
        node.body = [self.visit(stmt) for stmt in node.body]
        self.scopes.pop()
        self._instrument(node, qualname, in_class)
        self.instrumented.append(qualname)
        return node

    # --- the rewrite ------------------------------------------------------------------------

    def _instrument(self, node: _Function, qualname: str, in_class: bool) -> None:
        params = _parameter_names(node.args)
        is_generator = _contains_own_yield(node)
        flags = 0
        if is_generator:
            flags |= GENERATOR
        if isinstance(node, ast.AsyncFunctionDef):
            flags |= ASYNC
        if in_class and _binds_first_argument(node):
            flags |= BOUND_FIRST
        meta = make_meta(qualname, self.filename, node.lineno, params, flags, self.version)

        # Where no user code can run between a return and the end of the call (no return
        # inside ``finally``/``with``), the return hook also finishes the call and there is no
        # ``finally`` at all: one hook call fewer, and no extra line events for tracers.
        finishes_on_return = not _returns_inside_cleanup(node)
        return_hook = DONE if finishes_on_return else RETURN
        _OwnScopeRewriter(meta, is_generator, return_hook).rewrite_body(node)

        body = node.body
        docstring: list[ast.stmt] = []
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            docstring, body = body[:1], body[1:]
        anchor: ast.AST = body[0] if body else node.body[0]
        # One argument per parameter, not a tuple: a call past the step budget (counted, its
        # arguments never looked at) then allocates nothing for them in the C hooks.
        enter = ast.Call(
            func=_name(ENTER),
            args=[_meta_constant(meta), *(_name(p) for p in params)],
            keywords=[],
        )
        handler_hook = FAIL if finishes_on_return else ERROR
        handler = ast.ExceptHandler(
            type=_name(BASE_EXCEPTION),
            name=None,
            body=[
                _guarded_hook(
                    ast.Call(func=_name(handler_hook), args=[_meta_constant(meta)], keywords=[])
                ),
                ast.Raise(exc=None, cause=None),
            ],
        )
        wrapped: list[ast.stmt] = [_guarded_hook(enter), *body]
        finalbody: list[ast.stmt] = []
        if finishes_on_return:
            # Falling off the end is a return of None.
            fall_off = _guarded_hook(
                ast.Call(
                    func=_name(DONE),
                    args=[_meta_constant(meta), ast.Constant(None)],
                    keywords=[],
                )
            )
            last = body[-1] if body else anchor
            _locate_tree(fall_off, last, skip=[])
            wrapped.append(fall_off)
        else:
            finalbody = [
                _guarded_hook(ast.Call(func=_name(EXIT), args=[_meta_constant(meta)], keywords=[]))
            ]
        wrapper = ast.Try(body=wrapped, handlers=[handler], orelse=[], finalbody=finalbody)
        _locate_tree(wrapper, anchor, skip=[*body, *wrapped[-1:]] if finishes_on_return else body)
        node.body = [*docstring, wrapper]


class _OwnScopeRewriter(ast.NodeTransformer):
    """Rewrites the returns and yields of one function, not of the scopes nested in it."""

    def __init__(self, meta: tuple[Any, ...], is_generator: bool, return_hook: str) -> None:
        self.meta = meta
        self.is_generator = is_generator
        self.return_hook = return_hook

    def rewrite_body(self, node: _Function) -> None:
        node.body = [self.visit(stmt) for stmt in node.body]

    # A generator resumed by ``throw()`` or ``close()`` re-enters through an exception at its
    # yield, which skips the resume hook around the yield's value. Each simple statement
    # holding a yield is therefore wrapped so that the exception path resumes it too:
    #     try: <statement> except B: <resume hook>; raise
    def _resumable(self, node: ast.stmt) -> ast.stmt:
        if not self.is_generator or not _has_own_yield(node):
            return node
        handler = ast.ExceptHandler(
            type=_name(BASE_EXCEPTION),
            name=None,
            body=[
                _guarded_hook(ast.Call(func=_name(RESUME), args=[ast.Constant(None)], keywords=[])),
                ast.Raise(exc=None, cause=None),
            ],
        )
        wrapper = ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[])
        _locate_tree(wrapper, node, skip=[node])
        return wrapper

    def visit_Expr(self, node: ast.Expr) -> ast.stmt:
        self.generic_visit(node)
        return self._resumable(node)

    def visit_Assign(self, node: ast.Assign) -> ast.stmt:
        self.generic_visit(node)
        return self._resumable(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        return self._resumable(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.stmt:
        self.generic_visit(node)
        return self._resumable(node)

    # Nested scopes: only the parts evaluated in this scope (decorators, defaults, bases).
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return self._visit_nested_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AsyncFunctionDef:
        return self._visit_nested_function(node)

    def _visit_nested_function(self, node: _F) -> _F:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        self.visit(node.args)
        if node.returns is not None:
            node.returns = self.visit(node.returns)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(b) for b in node.bases]
        node.keywords = [self.visit(k) for k in node.keywords]
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        self.visit(node.args)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        # Annotations of nested defs are evaluated here; parameter names are not expressions.
        if node.annotation is not None:
            node.annotation = self.visit(node.annotation)
        return node

    def visit_Return(self, node: ast.Return) -> ast.stmt:
        self.generic_visit(node)
        value = node.value if node.value is not None else _located(ast.Constant(None), node)
        hooked = ast.Call(
            func=_name(self.return_hook), args=[_meta_constant(self.meta), value], keywords=[]
        )
        plain = node.value if node.value is not None else _located(ast.Constant(None), node)
        node.value = ast.IfExp(test=_name(FLAG), body=hooked, orelse=plain)
        _locate_tree(node.value, node, skip=[value, plain])
        return self._resumable(node)

    def visit_Yield(self, node: ast.Yield) -> ast.expr:
        self.generic_visit(node)
        item = node.value if node.value is not None else _located(ast.Constant(None), node)
        hooked_yield = ast.Yield(value=ast.Call(func=_name(YIELD), args=[item], keywords=[]))
        return self._around_suspension(node, hooked_yield, ast.Yield(value=node.value), [item])

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.expr:
        self.generic_visit(node)
        return self._around_suspension(
            node, ast.YieldFrom(value=node.value), ast.YieldFrom(value=node.value), [node.value]
        )

    def _around_suspension(
        self, node: ast.expr, hooked: ast.expr, plain: ast.expr, keep: list[ast.expr]
    ) -> ast.expr:
        resumed = ast.Call(func=_name(RESUME), args=[hooked], keywords=[])
        result = ast.IfExp(test=_name(FLAG), body=resumed, orelse=plain)
        _locate_tree(result, node, skip=keep)
        return result


# --- helpers ---------------------------------------------------------------------------------


def _name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def _meta_constant(meta: tuple[Any, ...]) -> ast.Constant:
    # The compiler accepts tuples of constants in a Constant node; typeshed does not say so.
    return ast.Constant(value=meta)  # type: ignore[arg-type]


def _guarded_hook(call: ast.Call) -> ast.If:
    """``if __runtree_on__: try: <call> except RecursionError: pass`` (see module docstring)."""
    guarded = ast.Try(
        body=[ast.Expr(value=call)],
        handlers=[ast.ExceptHandler(type=_name(RECURSION_ERROR), name=None, body=[ast.Pass()])],
        orelse=[],
        finalbody=[],
    )
    return ast.If(test=_name(FLAG), body=[guarded], orelse=[])


def _located(node: _N, anchor: ast.AST) -> _N:
    return ast.copy_location(node, anchor)


def _locate_tree(tree: ast.AST, anchor: ast.AST, skip: Sequence[ast.AST]) -> None:
    """Give every new node of ``tree`` the anchor's location; user nodes keep their own."""
    keep = {id(n) for n in skip}
    stack = [tree]
    while stack:
        node = stack.pop()
        if id(node) in keep:
            continue
        if "lineno" in node._attributes:
            ast.copy_location(node, anchor)
        stack.extend(ast.iter_child_nodes(node))


def _parameter_names(args: ast.arguments) -> tuple[str, ...]:
    names = [a.arg for a in (*args.posonlyargs, *args.args)]
    if args.vararg is not None:
        names.append(args.vararg.arg)
    names.extend(a.arg for a in args.kwonlyargs)
    if args.kwarg is not None:
        names.append(args.kwarg.arg)
    return tuple(names)


_SELF_NAMES = frozenset({"self", "cls", "mcs", "mcls", "metacls"})
_BINDING_DECORATORS = frozenset({"classmethod", "property", "setter", "getter", "deleter"})


def _decorator_names(node: _Function) -> set[str]:
    names = set()
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, ast.Attribute):
            names.add(target.attr)
    return names


def _binds_first_argument(node: _Function) -> bool:
    """Whether a def in a class body is a method whose first argument is the instance or
    class (captured by type only). A plain function kept in a class body (later wrapped by
    ``staticmethod()``, say) has its first argument captured like any other."""
    positional = [*node.args.posonlyargs, *node.args.args]
    if not positional:
        return False
    decorators = _decorator_names(node)
    if "staticmethod" in decorators:
        return False
    return positional[0].arg in _SELF_NAMES or bool(decorators & _BINDING_DECORATORS)


def _declared_global(node: _Function) -> frozenset[str]:
    """Names a function's own body declares ``global`` (not those of nested scopes)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Global):
            names.update(current.names)
        elif not isinstance(current, _SCOPES):
            stack.extend(ast.iter_child_nodes(current))
    return frozenset(names)


def _contains_own_yield(node: _Function) -> bool:
    """Whether ``node`` is a generator: a yield in its own scope, not in nested ones."""
    return any(_has_own_yield(stmt) for stmt in node.body)


def _has_own_yield(node: ast.AST) -> bool:
    """Whether ``node`` holds a yield of the function it is in (not of a nested scope)."""
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(current, _SCOPES):
            stack.extend(_evaluated_in_enclosing_scope(current))
            continue
        stack.extend(ast.iter_child_nodes(current))
    return False


def _returns_inside_cleanup(node: _Function) -> bool:
    """Whether a ``return`` of ``node`` (its own scope) sits where user code still runs after
    it: inside a ``try`` with a ``finally``, or inside a ``with``/``async with``."""

    def walk(current: ast.AST, in_cleanup: bool) -> bool:
        if isinstance(current, ast.Return):
            return in_cleanup
        if isinstance(current, _SCOPES):
            return False
        if isinstance(current, ast.With | ast.AsyncWith):
            return any(walk(child, True) for child in current.body)
        if isinstance(current, ast.Try | _TRY_STAR) and current.finalbody:
            protected = [*current.body, *current.orelse]
            protected.extend(stmt for h in current.handlers for stmt in h.body)
            return any(walk(child, True) for child in protected) or any(
                walk(child, in_cleanup) for child in current.finalbody
            )
        return any(walk(child, in_cleanup) for child in ast.iter_child_nodes(current))

    return any(walk(stmt, False) for stmt in node.body)


def _evaluated_in_enclosing_scope(node: ast.AST) -> list[ast.AST]:
    """The parts of a nested scope's definition that run in the enclosing scope."""
    parts: list[ast.AST] = []
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        parts.extend(node.decorator_list)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        parts.extend(node.args.defaults)
        parts.extend(d for d in node.args.kw_defaults if d is not None)
    if isinstance(node, ast.ClassDef):
        parts.extend(node.bases)
        parts.extend(k.value for k in node.keywords)
    return parts
