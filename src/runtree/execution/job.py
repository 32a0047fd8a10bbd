"""A job: everything a worker process needs to run one execution, as plain JSON.

The supervisor builds it from the store (the execution row and the versions it pinned) and
writes it to the worker's job pipe; the worker trusts nothing else.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..defaults import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S
from .world.reach import HTTP, NONE


@dataclasses.dataclass(frozen=True, slots=True)
class FunctionSource:
    """One function module: its source, version number and whether calls are tracked."""

    source: str
    version: int
    tracking: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """One execution of ``namespace/entry`` with already validated arguments.

    ``functions`` holds the entry point and every function it can reach by bare name, each at
    the version pinned when the execution started.
    """

    execution_id: str
    namespace: str
    entry: str
    functions: dict[str, FunctionSource]
    args: list[Any] = dataclasses.field(default_factory=list)
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    step_budget: int = 10_000
    value_budget: int = 64 * 1024
    # The function's sandbox opt-ins, and the confinement the server leased for this run
    # (a :class:`~runtree.execution.sandbox.policy.Policy` as a dict; ``None``: unsandboxed).
    network: bool = False
    subprocesses: bool = False
    sandbox: dict[str, Any] | None = None
    # What the run gets from the outside world: recorded or replayed (see .world.Session);
    # ``None``: neither.
    world: dict[str, Any] | None = None

    @property
    def replays(self) -> bool:
        """Whether the run replays a recording of the outside world."""
        return self.world is not None and self.world.get("mode") == "replay"

    @property
    def world_reach(self) -> str:
        """What of the outside world the run's process must have patched (see
        :mod:`.world.reach`): for a recording, what its code can reach (``world["reach"]``);
        a replay needs everything (:data:`~.world.reach.HTTP`), and so does, by default, a
        run that records nothing (the launcher's main zygote runs it)."""
        world = self.world
        if world is None or self.replays:
            return HTTP
        return str(world.get("reach", HTTP))

    @property
    def records_http(self) -> bool:
        """Whether the run needs the HTTP clients patched: it records the world and its code
        can make requests, or it replays a recording."""
        return self.world is not None and self.world_reach == HTTP

    def for_worker(self) -> Job:
        """The job as its worker process gets it: a recording run whose code reaches nothing
        of the world (:data:`~.world.reach.NONE`) goes without a world, as a run that records
        nothing (its supervisor makes its recording: :func:`~.world.empty_recording`)."""
        return dataclasses.replace(self, world=None) if self.world_reach == NONE else self

    def filename_of(self, name: str) -> str:
        """The file name tracebacks show for function ``name``: ``namespace/name.py``."""
        return f"{self.namespace}/{name}.py"

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self)).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Job:
        raw = json.loads(data)
        raw["functions"] = {k: FunctionSource(**v) for k, v in raw["functions"].items()}
        return cls(**raw)
