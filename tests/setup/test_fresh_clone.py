"""The README's two commands on a machine whose only Python is 3.12: ``make install`` (what
``make run`` and ``make test`` do first) from a fresh clone picks it, builds ``.venv`` with
it and, as root, builds the sandbox runtime from the system's Python."""

from __future__ import annotations

import glob
import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEARCH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def python_312() -> str | None:
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    return found[-1] if found else None


def path_without_pythons(directory: Path, python: str) -> str:
    """A PATH of one directory: every program of the system's, except its Pythons, plus
    ``python3.12``."""
    directory.mkdir()
    for folder in SEARCH:
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            target = Path(folder) / name
            link = directory / name
            if name.startswith("python") or link.exists() or not os.access(target, os.X_OK):
                continue
            link.symlink_to(target)
    (directory / "python3.12").symlink_to(python)
    return str(directory)


@pytest.mark.long
@pytest.mark.timeout(1500)
def test_make_install_from_a_fresh_clone_with_only_python_3_12(tmp_path: Path) -> None:
    python = python_312()
    if python is None:
        pytest.skip("no Python 3.12 under ~/.pyenv/versions")
    clone = tmp_path / "runtree"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHON", "VIRTUAL_ENV", "PYENV_VERSION", "MAKEFLAGS", "MAKELEVEL")
    }
    env["PATH"] = path_without_pythons(tmp_path / "bin", python)
    for name in ("python3", "python3.11", "python3.13", "python"):
        probe = subprocess.run(
            ["sh", "-c", f"command -v {name}"], env=env, capture_output=True, text=True
        )
        assert probe.returncode != 0, f"{name} is still on PATH: {probe.stdout}"
    runtime = tmp_path / "runtime-venv"  # not the shared /opt/runtree/venv
    done = subprocess.run(
        ["make", "install", f"RUNTIME={runtime}", f"STATE_DIR={tmp_path / 'state'}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1400,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(r"using \S+/python3\.12 \(Python 3\.12\)", output), output
    version = subprocess.run(
        [str(clone / ".venv/bin/python"), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.strip() == "(3, 12)"
    help_text = subprocess.run(
        [str(clone / ".venv/bin/runtree"), "--help"], capture_output=True, text=True, env=env
    )
    assert help_text.returncode == 0 and "Usage: runtree" in help_text.stdout
    if os.geteuid() == 0:
        # the sandbox's Python: the system's, world-readable (pyenv's is under a 0700 home)
        stamp = (runtime / ".runtree-runtime").read_text()
        assert re.match(r"/usr/bin/python3\.1[123] ", stamp), stamp
        assert (runtime / "bin/python").exists()
    else:
        assert "not root" in output


def test_make_says_what_to_do_without_a_supported_python(tmp_path: Path) -> None:
    clone = tmp_path / "runtree"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    env = {key: value for key, value in os.environ.items() if key != "PYTHON"}
    env["PATH"] = path_without_pythons(tmp_path / "bin", "/bin/false")
    os.unlink(tmp_path / "bin" / "python3.12")
    done = subprocess.run(
        ["make", "install"], cwd=clone, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "no supported Python (3.11, 3.12 or 3.13) found" in done.stdout + done.stderr
    assert not (clone / ".venv").exists()
