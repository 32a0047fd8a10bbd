"""The Python that runs user code, and how the platform starts runtree code in it.

Slot uids must be able to read and execute that Python and import its packages, so it cannot
live under a 0700 home directory (pyenv's ``/root/.pyenv``, where the platform's own Python
often is). ``make runtime`` builds it at :data:`DEFAULT_RUNTIME` from the system's Python of
the server's version (``/usr/bin/python3.X``), world-readable, with the packages workers need
(``dill``, ``pyseccomp``, ``landlock``); install what your functions import there too
(``/opt/runtree/venv/bin/pip install numpy``).

runtree itself is *not* imported from that environment: the zygote (and a cold worker) is
started as root with a small boot snippet that loads the ``runtree`` package from the
server's own installation, so the code that runs is always the server's, whatever is or is
not installed in the runtime. Children load nothing of runtree from disk after they confined
themselves: the zygote imported it all before forking (and the package directory is readable
to them anyway, when its file permissions allow).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_RUNTIME = "/opt/runtree/venv"

# argv: [python, -I, -c, BOOT, PACKAGE_DIR, MODULE, args...]
BOOT = (
    "import sys, importlib.util as u\n"
    "p = sys.argv.pop(1)\n"
    "s = u.spec_from_file_location('runtree', p + '/__init__.py', "
    "submodule_search_locations=[p])\n"
    "m = u.module_from_spec(s); sys.modules['runtree'] = m; s.loader.exec_module(m)\n"
    "import runpy\n"
    "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)\n"
)


def package_dir() -> str:
    """The directory of the ``runtree`` package this process runs."""
    return str(Path(__file__).resolve().parents[2])


def runtime_python() -> str:
    """The default Python for user code, when the settings name none
    (``RUNTREE_RUNTIME_PYTHON``, read by :mod:`runtree.settings` into
    ``SandboxConfig.python``): ``/opt/runtree/venv/bin/python`` when it exists, else this
    process's own interpreter (fine when it is readable by the slot uids; the probe checks)."""
    default = os.path.join(DEFAULT_RUNTIME, "bin", "python")
    if os.path.exists(default):
        return default
    return sys.executable


def python_command(python: str, module: str, *args: str) -> list[str]:
    """Run ``module`` as ``__main__`` in ``python``, with runtree from :func:`package_dir`.
    ``-I``: no user site, no ``PYTHON*`` variables, no current directory on ``sys.path``."""
    return [python, "-I", "-c", BOOT, package_dir(), module, *args]


def clean_environment() -> dict[str, str]:
    """The environment of the zygote and of cold workers: none of the server's variables
    (database URLs, keys) reach a process that forks user code."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
