"""Packages that import their exports on first use still export exactly what they declare,
and an export keeps its value when a submodule of the same name is imported."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

LAZY_PACKAGES = [
    "runtree",
    "runtree.store",
    "runtree.service",
    "runtree.tracking",
    "runtree.models",
]


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_declared_name_is_exported(name: str) -> None:
    package = importlib.import_module(name)
    origins = package.__dict__["__lazy_origins__"]
    assert set(origins) <= set(package.__all__)
    for export in package.__all__:
        assert getattr(package, export) is not None, export
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_an_export_wins_over_a_submodule_of_the_same_name() -> None:
    probe = (
        "import runtree.service.deploy, runtree.service as service\n"
        "from runtree.service import deploy\n"
        "assert callable(service.deploy) and deploy is service.deploy, service.deploy\n"
        "assert service.explore.MAX_RECENT_RUNS > 0  # submodules as attributes, as before\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


@pytest.mark.parametrize(
    ("module", "package"),
    [("runtree.tracking.render", "runtree.tracking"), ("runtree.models", "runtree.models")],
)
def test_a_light_module_imports_no_other_part_of_its_package(module: str, package: str) -> None:
    """``runtree show`` formats durations with ``tracking.render`` and reads the execution
    and step records only: neither pulls in the recording runtime or the other records."""
    probe = (
        f"import json, sys, {module}\n"
        f"print(json.dumps(sorted(name for name in sys.modules if name.startswith('{package}.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(done.stdout))
    assert loaded == ({module} if module != package else set())
