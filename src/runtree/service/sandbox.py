"""The sandbox user code runs in: what the start-up probe found on this host."""

from __future__ import annotations

from ..errors import SandboxUnavailable
from ..execution.sandbox.config import config_for
from ..execution.sandbox.report import Layer, SandboxReport
from ..execution.sandbox.slots import Sandbox
from ..settings import Settings

TIER_TITLES = {
    0: "tier 0 -- always on (the server refuses to start without every one of these)",
    1: "tier 1 -- namespaces and newer Landlock, when the host allows them",
    2: "tier 2 -- cgroups, when writable",
}


def probe_sandbox(settings: Settings) -> Sandbox:
    """Probe the sandbox the server would run with ``settings`` (not enforced: see
    :meth:`Sandbox.require`). Cached per process and configuration."""
    return Sandbox.probe(config_for(settings))


__all__ = [
    "TIER_TITLES",
    "Layer",
    "Sandbox",
    "SandboxReport",
    "SandboxUnavailable",
    "probe_sandbox",
]
