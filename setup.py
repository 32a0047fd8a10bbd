"""The C accelerator of the tracking hooks (see src/runtree/tracking/accelerator.py); all other
metadata is in pyproject.toml. ``optional``: without a compiler the install still succeeds and
runtree runs its pure-Python hooks. The source's sha256 is compiled in, so that a stale build
(an old ``.so`` next to a changed ``_hooks.c``) is never used."""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "src/runtree/tracking/_hooks.c"
SOURCE_SHA256 = hashlib.sha256(Path(__file__).with_name("src").joinpath(
    "runtree", "tracking", "_hooks.c").read_bytes()).hexdigest()

setup(
    ext_modules=[
        Extension(
            "runtree.tracking._hooks",
            [SOURCE],
            optional=True,
            define_macros=[("RUNTREE_HOOKS_SOURCE_SHA256", f'"{SOURCE_SHA256}"')],
            extra_compile_args=["-O2"],
        )
    ]
)
