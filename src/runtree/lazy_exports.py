"""Package attributes imported on first use, so that importing a package -- or one light
module inside it -- does not import everything the package re-exports.

The command line is the reason: ``runtree --help`` must not pay for SQLAlchemy, Alembic and
FastAPI. A package keeps its real imports under ``if TYPE_CHECKING:`` for type checkers and
readers, and hands the same names to :func:`lazy_exports` for run time; a test checks that
both agree with ``__all__``.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package whose exports are imported when first read."""

    def __getattr__(self, name: str) -> Any:  # only called for attributes not set yet
        origins: Mapping[str, str] = self.__dict__["__lazy_origins__"]
        origin = origins.get(name)
        if origin is None:
            # A submodule not imported yet (``service.explore``), as an eager package has it.
            try:
                return importlib.import_module(f"{self.__name__}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{self.__name__}.{name}":
                    raise
                raise AttributeError(
                    f"module {self.__name__!r} has no attribute {name!r}"
                ) from None
        value = getattr(importlib.import_module(origin, self.__name__), name)
        types.ModuleType.__setattr__(self, name, value)  # later reads cost nothing
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # Importing a submodule sets it as an attribute of its package. Where an export has
        # the submodule's name (``service.deploy``, the function, lives in
        # ``service/deploy.py``), the export wins, as it would in an eager package.
        if isinstance(value, types.ModuleType) and name in self.__dict__["__lazy_origins__"]:
            return
        types.ModuleType.__setattr__(self, name, value)


def lazy_exports(package: str, origins: Mapping[str, str]) -> None:
    """Make ``package`` import each name of ``origins`` from the module ``origins[name]``
    (relative to the package, e.g. ``".store"``) when it is first read."""
    module = sys.modules[package]
    module.__dict__["__lazy_origins__"] = dict(origins)
    module.__class__ = _LazyPackage
