"""Every setting and every environment variable runtree reads is documented, and the
environment is read through the settings registry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import runtree
from runtree.environment import VARIABLES, environment_value
from runtree.settings import SandboxSettings, Settings

SRC = Path(runtree.__file__).parent
ROOT = SRC.parent.parent
SETTINGS_PAGE = ROOT / "docs" / "settings.md"
VARIABLE_NAME = re.compile(r"\bRUNTREE_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def _documentation() -> str:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def test_every_setting_is_on_the_settings_page() -> None:
    page = SETTINGS_PAGE.read_text()
    fields = [*Settings.model_fields, *SandboxSettings.model_fields]
    missing = [name for name in fields if f"`{name}`" not in page]
    assert missing == []


def test_every_registered_variable_is_on_the_settings_page() -> None:
    page = SETTINGS_PAGE.read_text()
    assert [v.name for v in VARIABLES if f"`{v.name}`" not in page] == []


def test_every_variable_named_in_the_code_is_registered_and_documented() -> None:
    """A ``RUNTREE_*`` string anywhere in the package must be a registered variable (so it is
    parsed one way) and appear in the README or docs/."""
    named: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named.update(VARIABLE_NAME.findall(node.value))
    assert named, "the scan found nothing: is the pattern right?"
    registered = {variable.name for variable in VARIABLES}
    assert sorted(named - registered) == []
    documentation = _documentation()
    assert sorted(name for name in named if name not in documentation) == []


def test_the_environment_is_read_only_by_the_settings_module() -> None:
    """Server-side code reads variables through runtree.settings; the exceptions are code
    that runs inside a sandboxed worker (standard library only, no settings object there)."""
    inside_workers = {SRC / "tracking" / "capture.py", SRC / "execution" / "sandbox" / "confine.py"}
    readers = []
    for path in sorted(SRC.rglob("*.py")):
        if path in inside_workers or path == SRC / "settings.py":
            continue
        text = path.read_text()
        if re.search(r"os\.environ\.get\(\s*[\"']RUNTREE_|os\.getenv\(", text):
            readers.append(str(path.relative_to(SRC)))
    assert readers == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("off", False), (" No ", False), ("0", False), ("on", True), ("TRUE", True), ("", None)],
)
def test_one_parser_for_on_off_values(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: bool | None
) -> None:
    monkeypatch.setenv("RUNTREE_SANDBOX", text)
    assert environment_value("RUNTREE_SANDBOX") is expected
    monkeypatch.setenv("RUNTREE_SANDBOX_CGROUPS", text)
    assert environment_value("RUNTREE_SANDBOX_CGROUPS") is expected
    monkeypatch.setenv("RUNTREE_NO_AUTH", text)
    assert environment_value("RUNTREE_NO_AUTH") is (None if expected is None else not expected)


def test_a_value_that_is_no_on_off_value_is_refused_with_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from runtree.errors import SettingError

    monkeypatch.setenv("RUNTREE_NO_AUTH", "perhaps")
    with pytest.raises(SettingError, match="RUNTREE_NO_AUTH"):
        Settings.load()


def test_the_sandbox_section_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTREE_SANDBOX_NICE", "5")
    monkeypatch.setenv("RUNTREE_NETWORK_PORTS", "80, 8443")
    monkeypatch.setenv("RUNTREE_SANDBOX_NAMESPACES", "off")
    section = Settings.load().sandbox_host
    assert (section.nice, section.network_ports, section.namespaces) == (5, (80, 8443), False)
    from runtree.execution.sandbox.config import SandboxConfig, config_for

    for config in (SandboxConfig.from_env(), config_for(Settings.load())):
        assert (config.nice, config.network_ports, config.namespaces) == (5, (80, 8443), False)
    assert config_for(Settings()).nice == SandboxConfig().nice  # explicit settings: defaults
