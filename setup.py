"""The C accelerator of the tracking hooks (see src/runtree/tracking/accelerator.py); all other
metadata is in pyproject.toml. ``optional``: without a compiler the install still succeeds and
runtree runs its pure-Python hooks. The source's sha256 is compiled in, so that a stale build
(an old ``.so`` next to a changed ``_hooks.c``) is never used.

``python setup.py`` is what pip runs; the Makefile's ``runtime`` target imports this module and
builds only the extension (:func:`build_hooks_in_place`) with the sandbox runtime's Python,
whose setuptools may be too old to read pyproject.toml."""

import hashlib
from pathlib import Path

from setuptools import Distribution, Extension, setup

HERE = Path(__file__).resolve().parent
SOURCE = "src/runtree/tracking/_hooks.c"


def hooks_extension() -> Extension:
    digest = hashlib.sha256((HERE / SOURCE).read_bytes()).hexdigest()
    return Extension(
        "runtree.tracking._hooks",
        [SOURCE],
        optional=True,
        define_macros=[("RUNTREE_HOOKS_SOURCE_SHA256", f'"{digest}"')],
        extra_compile_args=["-O2"],
    )


def build_hooks_in_place() -> None:
    """Build the extension next to its source for the running Python (nothing else)."""
    dist = Distribution({"ext_modules": [hooks_extension()], "package_dir": {"": "src"}})
    command = dist.get_command_obj("build_ext")
    command.inplace = True
    command.optional_ok = False
    for extension in dist.ext_modules:
        extension.optional = False  # here a failure must be seen
    dist.run_command("build_ext")


if __name__ == "__main__":
    setup(ext_modules=[hooks_extension()])
