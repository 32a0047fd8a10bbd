"""One error model: every error runtree raises on purpose is a RuntreeError defined in
runtree.errors, and each one the client can cause says its HTTP status and problem type."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import runtree
from runtree import errors
from runtree.api.problems import TITLES


def _exception_classes() -> list[type[BaseException]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    ]


def test_every_error_is_a_runtree_error() -> None:
    classes = _exception_classes()
    assert len(classes) > 20
    for cls in classes:
        assert issubclass(cls, errors.RuntreeError), cls


def test_no_error_class_is_defined_outside_the_errors_module() -> None:
    """Every exception class of the package is defined in runtree.errors, except internal
    signals raised and caught inside one module, never seen outside it: the capture's
    (tracking runtime), the one-pass realizer's (a value for the general path), the detail
    encoder's (a step it hands to the model path) and the end's (a refused world recording:
    the end is written again without it)."""
    internal = {
        ("runtree.tracking.raw_state", "OverBudget"),
        ("runtree.tracking.plain_values", "_NotPlain"),
        ("runtree.api.schemas.detail_json", "_Unusual"),
        ("runtree.store.repositories.executions", "_WorldNotStored"),
    }
    defined = set()
    for info in pkgutil.walk_packages(runtree.__path__, "runtree."):
        if info.name.endswith("__main__") or info.name == "runtree.store.migrations.env":
            continue  # the entry point runs the CLI; Alembic's env runs migrations on import
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
                and module.__name__ != "runtree.errors"
            ):
                defined.add((module.__name__, value.__name__))
    assert defined == internal


def test_every_status_has_a_problem_type_with_a_title() -> None:
    for cls in _exception_classes():
        if cls.status is not None:  # type: ignore[attr-defined]
            assert cls.problem in TITLES, cls  # type: ignore[attr-defined]
    assert errors.DeliveryRejected.problem in TITLES


def test_errors_keep_the_builtin_bases_callers_catch() -> None:
    assert issubclass(errors.NotFoundError, LookupError)
    assert issubclass(errors.InvalidDataError, ValueError)
    assert issubclass(errors.SandboxError, RuntimeError)
    assert issubclass(errors.ZygoteError, RuntimeError)


def test_the_errors_module_loads_nothing_but_the_standard_library() -> None:
    tree = ast.parse(inspect.getsource(errors))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "dataclasses", "collections.abc", "typing", "models"}
