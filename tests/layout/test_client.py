"""The HTTP client is standalone: importing it loads no server code."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_PACKAGES = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "psycopg")
SERVER_LAYERS = (
    "runtree.store",
    "runtree.execution",
    "runtree.service",
    "runtree.api",
    "runtree.cli",
    "runtree.ui",
)


def test_importing_the_client_loads_no_server_code() -> None:
    probe = "import json, sys, runtree.client\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert "runtree.client.http" in loaded
    server = [
        name
        for name in loaded
        if name.split(".")[0] in SERVER_PACKAGES
        or any(name == layer or name.startswith(layer + ".") for layer in SERVER_LAYERS)
    ]
    assert server == []
