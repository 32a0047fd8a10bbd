"""What confinement works out once, before any execution: :func:`prepare` runs in the (root,
single-threaded) zygote, or in a cold worker before :func:`.confine.confine`.

It loads the ctypes bindings, works out which paths stay readable (:mod:`.readable_paths`)
and opens them for Landlock (:mod:`.landlock_rules`), compiles the seccomp filters
(:mod:`.seccomp`) and cleans the environment, so that what is left per execution is a
handful of system calls. Forked children inherit the result (:class:`Prepared`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import itertools
import os
import sys
from typing import Any

from . import blocked_calls, seccomp
from .landlock_rules import landlock_abi, prepare_rules
from .policy import Policy, environment
from .readable_paths import SYSTEM_READABLE, runtime_paths, without_nested

# Set per execution by confine(), from the policy's work directory; the rest of the
# environment once, here.
PER_EXECUTION = ("HOME", "TMPDIR")


@dataclasses.dataclass
class Prepared:
    """What :func:`prepare` worked out, inherited by every forked child."""

    libc: ctypes.CDLL
    landlock_abi: int
    landlock: Any  # the ``landlock`` module, or None without Landlock
    readable: list[str]  # directories and files, read-only
    filters: dict[seccomp.FilterKey, bytes]  # see filter_key -> BPF program
    seccomp_error: str | None
    # Landlock, worked out once: the rights handled, and (O_PATH fd, rights) of every
    # static rule -- a child only hands them to the kernel.
    handled: int = 0
    rules: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    rule_attrs: list[Any] = dataclasses.field(default_factory=list)  # PathBeneathAttr each
    programs: dict[seccomp.FilterKey, Any] = dataclasses.field(default_factory=dict)
    # Set by :func:`.namespaces.enter_private_network` (the zygote): children start in an
    # empty network namespace; those with network on go back to the host's through this fd.
    host_network_fd: int = -1


_prepared: Prepared | None = None


def prepare(all_filters: bool = True) -> Prepared:
    """Load bindings and compile filters (idempotent); call before forking children. Without
    ``all_filters`` (a cold worker, which confines itself once) :func:`.confine.confine`
    compiles just the filter it needs."""
    global _prepared
    if _prepared is not None:
        return _prepared
    libc = ctypes.CDLL(None, use_errno=True)
    abi = landlock_abi(libc)
    landlock_module: Any = None
    if abi >= 1:
        try:
            import landlock

            landlock.FSAccess.all()  # computes (and caches) the ABI it relies on
            landlock_module = landlock
        except Exception:
            landlock_module = None
    readable = without_nested([*SYSTEM_READABLE, *runtime_paths()])
    filters: dict[seccomp.FilterKey, bytes] = {}
    seccomp_error = None
    try:
        import pyseccomp  # noqa: F401  (it finds libseccomp now, while it still can)

        if all_filters:
            # (Signals confined by seccomp: not root, compiled when a run needs it.)
            for subprocesses, network, shared in itertools.product((False, True), repeat=3):
                key = (subprocesses, network, shared, False)
                filters[key] = seccomp.compile_filter(*key)
    except Exception as error:  # no libseccomp, no pyseccomp: the probe reports it
        seccomp_error = f"{type(error).__name__}: {error}"
        filters = {}
    blocked_calls.preload()
    _prepared = Prepared(libc, abi, landlock_module, readable, filters, seccomp_error)
    if landlock_module is not None:
        prepare_rules(_prepared)
    for key in filters:
        seccomp_program(_prepared, key)
    _clean_environment()
    return _prepared


def _clean_environment() -> None:
    """Once, in the zygote: the environment every execution starts from (the per-execution
    part, ``HOME`` and ``TMPDIR``, is set by :func:`.confine.confine`)."""
    static = {
        k: v
        for k, v in environment(Policy(0, 0, ""), _search_path()).items()
        if k not in PER_EXECUTION
    }
    for key in [k for k in os.environ if k not in static]:
        del os.environ[key]
    os.environ.update(static)


def _search_path() -> str:
    bin_dir = os.path.dirname(sys.executable)
    return ":".join(dict.fromkeys([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]))


def seccomp_program(prepared: Prepared, key: seccomp.FilterKey) -> Any:
    """The filter for ``key`` as the kernel takes it (built once, kept alive here)."""
    program = prepared.programs.get(key)
    if program is None:
        program = prepared.programs[key] = seccomp.program(prepared.filters[key])
    return program


def warm() -> None:
    """In a zygote's spare, before it has a job: touch what :func:`.confine.confine` will
    use, so that the memory pages it shares with the zygote are copied now, at the spare's
    low priority, rather than on the request path (about half a millisecond). Changes
    nothing."""
    prepared = prepare()
    Policy.from_dict(Policy(uid=0, gid=0, workdir="/").to_dict())
    if prepared.landlock is not None:
        from landlock import plumbing

        plumbing.get_add_rule()
        plumbing.get_restrict_self()
        for attr in prepared.rule_attrs:
            ctypes.byref(attr)
    for key in list(prepared.programs):
        seccomp_program(prepared, key)
