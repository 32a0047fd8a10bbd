"""``runtree.execution.world.importing``: whether a thread is importing a module (its clock
reads and random bytes then are left out of a recording)."""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path

import pytest

from runtree.execution.world import importing as importing_module
from runtree.execution.world.importing import importing


def test_a_modules_top_level_code_runs_inside_an_import_and_its_functions_later_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "asks_on_import.py").write_text(
        "import sys\nfrom runtree.execution.world.importing import importing\n"
        "def ask():\n    return importing(sys._getframe())\n"
        "AT_IMPORT = ask()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("asks_on_import")
        assert module.AT_IMPORT is True
        assert module.ask() is False
        assert importing(sys._getframe()) is False
    finally:
        sys.modules.pop("asks_on_import", None)


def test_another_threads_import_is_not_this_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a module is imported in another thread (an import under way: the quick check
    cannot answer), this thread is not importing."""
    (tmp_path / "waits_on_import.py").write_text(
        "import builtins\nbuiltins._runtree_test_started.set()\n"
        "builtins._runtree_test_release.wait(10)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    started, release = threading.Event(), threading.Event()
    monkeypatch.setattr("builtins._runtree_test_started", started, raising=False)
    monkeypatch.setattr("builtins._runtree_test_release", release, raising=False)
    importer = threading.Thread(target=importlib.import_module, args=("waits_on_import",))
    importer.start()
    try:
        assert started.wait(10)
        assert importing(sys._getframe()) is False
    finally:
        release.set()
        importer.join(10)
        sys.modules.pop("waits_on_import", None)


def test_the_interpreter_has_what_the_check_reads() -> None:
    """Private names of the import system: without them the check answers "not importing"
    (so recording goes on), which would bring the shifted replays back unnoticed."""
    assert importing_module._IMPORT_CODE is not None
    assert isinstance(importing_module._MODULE_LOCKS, dict)
