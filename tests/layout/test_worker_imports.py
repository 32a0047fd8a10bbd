"""The code that runs inside the sandbox loads only what the sandbox's runtime Python has:
the standard library and the worker's few packages (the runtime venv has no pydantic,
SQLAlchemy or FastAPI). Moving a definition into a module that imports more would break every
sandboxed run, so this is checked here, without root."""

from __future__ import annotations

import json
import subprocess
import sys

WORKER_MODULES = (
    "runtree.execution.worker",
    "runtree.execution.zygote",
    "runtree.execution.zygote_spares",
    # What the worker loads to confine itself (runtree.execution.sandbox.confine and the
    # modules of its steps), named so that none of them can slip out of the check.
    "runtree.execution.sandbox.confine",
    "runtree.execution.sandbox.preparation",
    "runtree.execution.sandbox.readable_paths",
    "runtree.execution.sandbox.landlock_rules",
    "runtree.execution.sandbox.namespaces",
    "runtree.execution.sandbox.rlimits",
    "runtree.execution.sandbox.blocked_calls",
    "runtree.execution.sandbox.libc",
    "runtree.execution.sandbox.seccomp",
    "runtree.execution.sandbox.policy",
)
NOT_IN_THE_RUNTIME = (
    "pydantic",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "httpx",
    "typer",
    "rich",
    "jinja2",
    "cronsim",
    "psycopg",
    "pyflakes",
)


def test_worker_modules_load_no_server_dependency() -> None:
    probe = (
        "import importlib, json, sys\n"
        f"for name in {WORKER_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert set(WORKER_MODULES) <= set(loaded)
    assert [name for name in loaded if name.split(".")[0] in NOT_IN_THE_RUNTIME] == []
