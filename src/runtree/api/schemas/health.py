"""``/healthz``: the database and the sandbox."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import ResponseModel


class SandboxLayerOut(ResponseModel):
    name: str
    tier: int
    active: bool
    detail: str
    required: bool = Field(
        default=True, description="Tier 0: the server refuses to start without it."
    )


class SandboxOut(ResponseModel):
    """What the start-up probe found (``runtree doctor`` prints the same)."""

    enabled: bool = Field(description="False: RUNTREE_SANDBOX=off, user code unconfined.")
    tier0: bool = Field(description="Every always-on protection works here.")
    uid_separation: bool = Field(
        default=True, description="False: not root, every run executes as the server's uid."
    )
    summary: str
    layers: list[SandboxLayerOut]


class Health(ResponseModel):
    status: Literal["ok", "unavailable"]
    database: bool
    schema_revision: str | None = None
    sandbox: SandboxOut | None = Field(
        default=None, description="The sandbox user code runs in (absent: not this server's)."
    )
