"""What starting the CLI imports: ``runtree --help`` loads no database, web or HTTP library,
``runtree show ID`` on a SQLite database at the newest schema no database library at all (a
prefix: no Alembic), and the HTTP client no server code. (The time it takes is measured by
bench/cli_startup.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtree.store import migrate

SERVER_LIBRARIES = {"sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "psycopg"}
PROBE = """
import json, sys, runpy
sys.argv = ["runtree", *json.loads(sys.argv[1])]
try:
    runpy.run_module("runtree", run_name="__main__")
except SystemExit:
    pass
sys.__stdout__.write("\\n" + json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(*args: str) -> set[str]:
    """Every module imported by ``runtree ARGS`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def loaded_by(*args: str) -> set[str]:
    """Top-level packages imported by ``runtree ARGS`` in a fresh interpreter."""
    return {name.split(".")[0] for name in modules_loaded_by(*args)}


def test_help_imports_no_database_web_or_http_library() -> None:
    loaded = loaded_by("--help")
    assert "typer" in loaded
    assert not loaded & (SERVER_LIBRARIES | {"httpx", "pydantic", "jinja2"})
    assert not loaded_by("run", "--help") & SERVER_LIBRARIES


def test_help_imports_no_command_module_and_no_renderer() -> None:
    """``runtree --help`` lists the commands from their declared summaries: no command's
    module is imported, nor rich nor the records (tests/cli/test_lazy_commands.py checks
    the summaries)."""
    modules = modules_loaded_by("--help")
    assert "runtree.cli" in modules
    assert not {name for name in modules if name.startswith("runtree.cli.commands_")}
    assert not {name for name in modules if name.split(".")[0] == "rich"}
    assert "runtree.models" not in modules
    # one command's help imports that command's module only
    modules = modules_loaded_by("show", "--help")
    assert {name for name in modules if name.startswith("runtree.cli.commands_")} == {
        "runtree.cli.commands_inspect"
    }


@pytest.mark.slow
def test_show_on_a_current_sqlite_database_imports_no_database_or_web_library(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'runtree.db'}"
    examples = Path(__file__).resolve().parents[2] / "examples" / "orders"
    subprocess.run(
        [sys.executable, "-m", "runtree", "--database", database, "deploy", str(examples)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    queued = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtree",
            "--database",
            database,
            "run",
            "calculate_order_total",
            "-a",
            "customer_id=42",
            "--no-wait",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()
    modules = modules_loaded_by("--database", database, "show", queued)
    assert "runtree.store.sqlite_reader" in modules  # it did read the database, with sqlite3
    loaded = {name.split(".")[0] for name in modules}
    # nor pydantic: typer's coercion is deferred (runtree.cli.coercion), the database URL read
    # without the Settings model
    assert not loaded & (SERVER_LIBRARIES | {"httpx", "jinja2", "pydantic"})
    # nor what the text output does not use: the recording runtime (show formats durations
    # with runtree.tracking.render, the step codec reads value_digest's limits: both standard
    # library alone), rich's tables, the records of other concepts
    assert "runtree.tracking.render" in modules
    assert {name for name in modules if name.startswith("runtree.tracking.")} <= {
        "runtree.tracking.render",
        "runtree.tracking.value_digest",
    }
    assert not {"rich.table", "rich.box"} & modules
    assert not {name for name in modules if name.startswith("runtree.models.")}
    # a prefix goes through the store (which has the prefix lookup), without Alembic
    loaded = loaded_by("--database", database, "show", queued[:8])
    assert "sqlalchemy" in loaded
    assert not loaded & {"alembic", "fastapi", "starlette", "uvicorn", "httpx", "jinja2"}


def test_the_head_revision_constant_is_alembics() -> None:
    head = migrate.head_revision()
    assert migrate.HEAD_REVISION == head, (
        f"a new migration: set HEAD_REVISION = {head!r} in runtree/store/migrate.py"
    )


def test_the_server_imports_no_statistics_or_clock_library_until_used() -> None:
    """scipy (blame) and time-machine (a worker's clock recording, which also imports pytest
    where it is installed) cost seconds at every server and zygote start under load."""
    probe = (
        "import json, sys\n"
        "import runtree.api, runtree.execution.protocol, runtree.execution.runner\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "fastapi" in loaded  # it did import the server
    assert not loaded & {"scipy", "time_machine", "_time_machine", "pytest"}
