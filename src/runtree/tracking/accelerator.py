"""Which runtime runs the hooks: the C accelerator (``_hooks``, built from ``_hooks.c`` by the
install commands when a compiler is there) or the pure-Python hooks of :mod:`.runtime`.

The C hooks do the common paths in C and hand every other case to the same Python functions
the pure-Python hooks use, so both behave identically (the tracking suite runs on both:
``make test``). ``RUNTREE_TRACKING_RUNTIME`` chooses: ``c`` (fail loudly if the extension is
missing), ``python``, or unset/``auto`` (C when built, else Python). ``runtree doctor`` and
:data:`.runtime.ACTIVE_RUNTIME` say which one is active.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

RUNTIME_ENV = "RUNTREE_TRACKING_RUNTIME"
CHOICES = ("auto", "c", "python")
BUILD_HINT = (
    "build it with `make install` or `pip install -e .` on a machine with a C compiler and "
    "the Python headers"
)
# Why the C hooks are not used when the choice was automatic ("" when they are, or when the
# pure-Python hooks were asked for).
NOT_USED_BECAUSE = ""


def _staleness(hooks: Any) -> str:
    """Why a build made from another ``_hooks.c`` than the one beside it (a checkout whose C
    source changed since the last install) must not be used ("" when it is current)."""
    source = Path(__file__).with_name("_hooks.c")
    if not source.exists():
        return ""  # an installed package ships the build only
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if getattr(hooks, "SOURCE_SHA256", None) != digest:
        return f"the build is stale (made from another _hooks.c): {BUILD_HINT}"
    return ""


def select(runtime: ModuleType, python_hooks: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``("c" | "python", hook name -> hook)`` for :mod:`.runtime` (called once, at import)."""
    global NOT_USED_BECAUSE, _unconfigured
    wanted = os.environ.get(RUNTIME_ENV, "auto").strip().lower() or "auto"
    if wanted not in CHOICES:
        raise ValueError(f"{RUNTIME_ENV} must be one of {', '.join(CHOICES)}, got {wanted!r}")
    if wanted == "python":
        return "python", dict(python_hooks)
    try:
        from . import _hooks  # type: ignore[attr-defined]
    except ImportError as error:
        reason = f"not built ({error}): {BUILD_HINT}"
    else:
        reason = _staleness(_hooks)
    if reason:
        if wanted == "c":
            raise ImportError(f"{RUNTIME_ENV}=c but the C accelerator cannot be used: {reason}")
        NOT_USED_BECAUSE = reason
        return "python", dict(python_hooks)
    _unconfigured = (_hooks, runtime)
    return "c", {
        "__runtree_enter__": _hooks.enter,
        "__runtree_error__": _hooks.error,
        "__runtree_exit__": _hooks.exit,
        "__runtree_done__": _hooks.done,
        "__runtree_fail__": _hooks.fail,
        "__runtree_return__": _hooks.return_,
        "__runtree_yield__": _hooks.yield_,
        "__runtree_resume__": _hooks.resume,
    }


# The C hooks and the runtime module, until configure_once() hands the hooks the objects they
# use (not at import: the Recording class is defined after the runtime is imported).
_unconfigured: tuple[Any, ModuleType] | None = None


def configure_once() -> None:
    """Give the C hooks the runtime's objects; call before the first recording opens (hooks
    run only while one is open)."""
    global _unconfigured
    if _unconfigured is None:
        return
    hooks, runtime = _unconfigured
    _configure(hooks, runtime)
    _unconfigured = None


def _configure(hooks: Any, runtime: Any) -> None:
    import _pickle

    from . import budget, capture, context, recording, records, safe_pickle

    hooks.configure(
        holder_var=context.holder_var,
        generator_records=runtime.generator_records,
        immutable_types=capture.IMMUTABLE_SCALARS,
        snapshot=capture.snapshot,
        snapshot_one=capture.snapshot_one,
        true_parent=runtime._true_parent,
        enter_slow=runtime._enter_slow,
        enter_special=runtime._enter_special,
        internal_error=runtime._internal_error,
        done_slow=runtime._done_slow,
        exit=runtime.on_exit,
        error=runtime.on_error,
        fail=runtime.on_fail,
        skip_suspended=runtime._skip_suspended,
        on_yield=runtime.on_yield,
        on_resume=runtime.on_resume,
        on_return=runtime.on_return,
        on_enter=runtime.on_enter,
        nothing=capture.NOTHING,
        completed=records.COMPLETED,
        running=records.RUNNING,
        recording_type=recording.Recording,
        aggregate_type=records.Aggregate,
        path_type=budget.CallPath,
        fair_share=budget.FAIR_SHARE,
        policy_type=capture.CapturePolicy,
        # Small builtin values are pickled by the C pickler directly: the bytes SafePickler
        # makes of them (see _hooks.c, "small builtin values").
        pickle_dumps=_pickle.dumps,
        frozen=capture.Frozen,
        protocol=safe_pickle.PROTOCOL,
    )


def describe() -> dict[str, str]:
    """Which hooks this process runs: ``{"runtime": "c" | "python", "detail": why}``."""
    from .runtime import ACTIVE_RUNTIME

    if ACTIVE_RUNTIME == "c":
        detail = "C accelerator (runtree.tracking._hooks)"
    elif NOT_USED_BECAUSE:
        detail = f"pure Python: the C accelerator {NOT_USED_BECAUSE}"
    else:
        detail = f"pure Python ({RUNTIME_ENV}=python)"
    return {"runtime": ACTIVE_RUNTIME, "detail": detail}


if __name__ == "__main__":  # what `runtree doctor` runs in the sandbox's Python
    import json

    print(json.dumps(describe()))
