"""The worker protocol: what a worker process may tell its supervisor, checked message by message.

A worker runs the user's function, and the pipe it reports on is a file descriptor of that
same process: a hostile function can write anything to it. So every message is untrusted
input. :func:`parse_message` parses one JSON line against the models below (pydantic, strict:
no coercion, no unknown keys) and the limits of the job it belongs to -- statuses from an
allow-list, step ids within the step budget, at most :data:`~.worker.BATCH_SIZE` steps a
message, serialized values within the value budget, printed text within its cap, JSON
nesting within :data:`~runtree.jsonlimits.MAX_JSON_DEPTH` -- and raises
:class:`ProtocolViolation` for anything else; the supervisor then ends the execution
``crashed`` ("worker protocol violation"). Nothing is ever unpickled.

The messages (one JSON object a line):

* ``{"type": "steps", "steps": [step, ...]}`` -- recorded calls, while the code runs (a
  running step is sent again when it ends); a captured value may carry ``hidden``: at most
  :data:`~runtree.tracking.value_digest.MAX_HIDDEN_DIGESTS` prehashes of the scalars its
  redaction removed, for the value index (a lying worker can only add digests to its own
  execution's index);
* ``{"type": "limit", "limit": "output", "written": n}`` -- the run printed past its limit;
* ``{"type": "world", "recording": {...}}`` -- a recording run's progress: what it recorded
  since its previous world message (:class:`PartialRecording` puts them together: all of it
  when the run ends without its result; with a result, whose recording then holds only the
  rest, the whole recording);
* ``{"type": "result", "status": "succeeded" | "failed" | "crashed", "output", "error",
  "stdout", "stdout_truncated", "steps", "world"}`` -- once, at the end (``world``: the
  run's recording of the outside world, or a replay's report, when the job asked for one;
  see :mod:`.world`).

Framing cannot collide with user values: the only binary data, a captured value's ``blob``
(the serialized original), travels as a base64 *string* in that one field, and only that
field is ever decoded; a value the user returns is only ever a ``preview`` and stays exactly
what it is (``{"__b64__": "aGk="}`` included).

What validation cannot do: a hostile function can still lie about *its own* execution -- its
steps, output, error and printed text, within these limits. It cannot make its execution
outlive its worker, exceed the limits, or touch any other execution.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from ..errors import ProtocolViolation
from ..jsonlimits import MAX_JSON_DEPTH, too_deep
from ..tracking.value_digest import MAX_HIDDEN_DIGESTS, MAX_KEY_CHARS, PREHASH_BYTES
from .job import Job
from .world import CLOCK_LIMIT, URANDOM_LIMIT

MAX_STEPS_PER_MESSAGE = 200  # the worker's BATCH_SIZE
MAX_STDOUT_CHARS = 1024 * 1024  # the worker's STDOUT_LIMIT: printed text kept, per step too
MAX_URL_CHARS = 64 * 1024


def _base64(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("blob must be base64") from None
    return value


def _shallow(value: Any) -> Any:
    if too_deep(value, MAX_JSON_DEPTH):
        raise ValueError(f"nests deeper than {MAX_JSON_DEPTH} levels")
    return value


Blob = Annotated[bytes, BeforeValidator(_base64)]
Json = Annotated[Any, AfterValidator(_shallow)]
Count = Annotated[int, Field(ge=0)]
StepId = Annotated[int, Field(ge=1)]
Text = Annotated[str, Field(max_length=MAX_STDOUT_CHARS)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class HiddenDigest(_Strict):
    """The prehash of one scalar redaction removed from a value, and the name it was found
    under (:mod:`runtree.tracking.value_digest`); the server keys it for the value index."""

    key: Annotated[str, Field(max_length=MAX_KEY_CHARS)]
    digest: Annotated[str, Field(pattern=rf"^[0-9a-f]{{{PREHASH_BYTES * 2}}}$")]


class CapturedValue(_Strict):
    """One captured value (:meth:`runtree.tracking.capture.Captured.to_dict`)."""

    preview: Json = None
    size: Count = 0
    format: Annotated[str, Field(max_length=32)] = "none"
    truncated: bool = False
    redacted: bool = False
    sha256: Annotated[str, Field(max_length=64)] | None = None
    warning: str | None = None
    type: Annotated[str, Field(max_length=200)] | None = None  # the value's type, named
    length: Annotated[int, Field(ge=0, lt=2**63)] | None = None  # a built-in container's
    blob: Blob | None = None
    hidden: Annotated[list[HiddenDigest], Field(max_length=MAX_HIDDEN_DIGESTS)] = []


class Frame(_Strict):
    filename: str
    lineno: int | None = None
    name: str
    line: str = ""


class StepError(_Strict):
    type: str
    message: str
    traceback: list[Frame] = []
    from_step: StepId | None = None


class Aggregate(_Strict):
    """Calls past the budget under one step or aggregate row (:mod:`runtree.tracking.budget`)."""

    name: str
    count: Count
    total_ns: Count
    errors: Count
    children: list[Aggregate] = []


MAX_AGGREGATE_NESTING = 64  # rows within rows: a chain of that many distinct functions


def _aggregate_nesting(rows: list[Aggregate]) -> list[Aggregate]:
    level, current = 0, rows
    while current:
        level += 1
        if level > MAX_AGGREGATE_NESTING:
            raise ValueError(f"aggregate rows nest deeper than {MAX_AGGREGATE_NESTING} levels")
        current = [child for row in current for child in row.children]
    return rows


class Generator(_Strict):
    yielded: Count = 0
    first: CapturedValue | None = None


class IoSummary(_Strict):
    """What an I/O step did (:mod:`runtree.tracking.io_steps`)."""

    method: Annotated[str, Field(max_length=32)]
    url: Annotated[str, Field(max_length=MAX_URL_CHARS)]
    status: Annotated[int, Field(ge=0, le=999)] | None = None


class Step(_Strict):
    """One recorded call (:meth:`runtree.tracking.Step.to_dict` plus its ``function``), or
    an outbound request (``kind`` ``io``, with its ``io`` summary)."""

    id: StepId
    parent_id: StepId | None = None
    sequence: StepId
    depth: Count
    name: str
    filename: str | None = None
    lineno: int | None = None
    function: str | None = None
    version: int | None = None
    status: Literal["running", "completed", "failed", "interrupted"]
    started_at_ns: int
    duration_ns: Count | None = None
    inputs: dict[str, CapturedValue] = {}
    output: CapturedValue | None = None
    error: StepError | None = None
    stdout: Text = ""
    stdout_truncated: bool = False
    warnings: list[str] = []
    aggregates: Annotated[list[Aggregate], AfterValidator(_aggregate_nesting)] = []
    generator: Generator | None = None
    kind: Literal["call", "io"] = "call"
    io: IoSummary | None = None


class ExecutionError(_Strict):
    """Why an execution failed, as its worker reports it."""

    type: str
    message: str
    traceback: list[Frame] = []
    step_id: StepId | None = None
    from_step: StepId | None = None


Steps = Annotated[list[Step], Field(max_length=MAX_STEPS_PER_MESSAGE)]


class StepsMessage(_Strict):
    type: Literal["steps"]
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS_PER_MESSAGE)]


class LimitMessage(_Strict):
    type: Literal["limit"]
    limit: Literal["output"]
    written: Count


class HttpInteraction(_Strict):
    """One recorded HTTP interaction (:mod:`.world`): vcrpy's request and response, JSON."""

    request: Json
    response: Json
    duration_ns: Count = 0


class WorldRecording(_Strict):
    """What a run got from the outside world (:mod:`.world`, ``format`` 1)."""

    format: Literal[1]
    seed: Annotated[int, Field(ge=0, lt=2**64)]
    clock: Annotated[list[Annotated[int, Field(ge=0, lt=2**63)]], Field(max_length=CLOCK_LIMIT)]
    clock_reads: Count
    urandom: Annotated[str, Field(max_length=URANDOM_LIMIT * 4 // 3 + 4)]
    urandom_bytes: Count
    http: list[HttpInteraction]
    http_dropped: Count


class HttpReport(_Strict):
    recorded: Count
    played: Count
    unplayed: Annotated[list[Annotated[str, Field(max_length=MAX_URL_CHARS)]], Field(max_length=20)]


class ReadCounts(_Strict):
    recorded: Count
    read: Count


class Divergence(_Strict):
    step_id: StepId | None = None
    request: Annotated[str, Field(max_length=MAX_URL_CHARS)]
    reason: Annotated[str, Field(max_length=MAX_URL_CHARS)]


class ReplayReport(_Strict):
    """How a deterministic replay used its recording (:mod:`.world`)."""

    http: HttpReport
    clock: ReadCounts
    urandom: ReadCounts
    divergence: Divergence | None = None
    divergences: Count = 0


class WorldResult(_Strict):
    recording: WorldRecording | None = None
    report: ReplayReport | None = None


class ResultMessage(_Strict):
    type: Literal["result"]
    status: Literal["succeeded", "failed", "crashed"]
    output: CapturedValue | None = None
    error: ExecutionError | None = None
    stdout: Text = ""
    stdout_truncated: bool = False
    steps: Steps = []
    world: WorldResult | None = None


class WorldMessage(_Strict):
    """What a recording run recorded since its previous world message (``clock``,
    ``urandom`` and ``http`` hold only what is new; the counts are totals)."""

    type: Literal["world"]
    recording: WorldRecording


AnyMessage = StepsMessage | LimitMessage | WorldMessage | ResultMessage
Message = Annotated[AnyMessage, Field(discriminator="type")]
_MESSAGE: TypeAdapter[AnyMessage] = TypeAdapter(Message)


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    """A message that passed the checks: the model (its ``type``, a result's ``status``),
    and its parts in the shape the store and runner take -- the dicts as the worker sent
    them, with each ``blob`` decoded to ``bytes`` (building them again from the models would
    cost as much as checking them)."""

    message: AnyMessage
    steps: list[dict[str, Any]]
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    world: dict[str, Any] | None = None


def parse_message(line: bytes, job: Job) -> Checked:
    """One message from ``job``'s worker, checked against the protocol and the job's limits.
    Raises :class:`~runtree.errors.ProtocolViolation` saying what is wrong."""
    try:
        data = json.loads(line)
    except RecursionError:
        raise ProtocolViolation(f"a message nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as error:  # UnicodeDecodeError too
        raise ProtocolViolation(f"a message is not JSON ({error})") from None
    try:
        message = _MESSAGE.validate_python(data)
    except ValidationError as error:
        raise ProtocolViolation(_describe(error)) from None
    except RecursionError:
        raise ProtocolViolation(f"a message nests deeper than {MAX_JSON_DEPTH} levels") from None
    if isinstance(message, LimitMessage):
        return Checked(message, [])
    if isinstance(message, WorldMessage):
        if (job.world or {}).get("mode") != "record":
            raise ProtocolViolation("world: progress from a job that does not record")
        return Checked(message, [], world=data["recording"])
    for step in message.steps:
        _check_step(step, job)
    sent = data.get("steps", [])  # optional in a result
    steps = [_with_blobs(raw, step) for raw, step in zip(sent, message.steps, strict=True)]
    if isinstance(message, StepsMessage):
        return Checked(message, steps)
    _check_result(message, job)
    output = data.get("output")
    if output is not None:
        output["blob"] = message.output.blob if message.output is not None else None
        if output["blob"] is None:
            del output["blob"]
    world = data.get("world")
    if world is not None:
        _check_world(message, job)
    return Checked(message, steps, output, data.get("error"), world)


def _with_blobs(raw: dict[str, Any], step: Step) -> dict[str, Any]:
    """``raw`` (the step as sent, already checked as ``step``) with its blobs as bytes."""
    pairs = [(raw["inputs"][name], value) for name, value in step.inputs.items()]
    if step.output is not None:
        pairs.append((raw["output"], step.output))
    if step.generator is not None and step.generator.first is not None:
        pairs.append((raw["generator"]["first"], step.generator.first))
    for sent, value in pairs:
        if value.blob is not None:
            sent["blob"] = value.blob
    return raw


def _check_step(step: Step, job: Job) -> None:
    where = f"step {step.id}"
    if step.id > job.step_budget:
        raise ProtocolViolation(f"{where} is past the step budget ({job.step_budget} steps)")
    if step.parent_id is not None and step.parent_id >= step.id:
        raise ProtocolViolation(f"{where} has a parent recorded after it ({step.parent_id})")
    values = [*step.inputs.values(), step.output]
    if step.generator is not None:
        values.append(step.generator.first)
    for value in values:
        _check_value(value, job, where)


def _check_result(message: ResultMessage, job: Job) -> None:
    if message.status == "succeeded":
        if message.output is None or message.error is not None:
            raise ProtocolViolation("a succeeded result must have an output and no error")
    elif message.error is None or message.output is not None:
        raise ProtocolViolation(f"a {message.status} result must have an error and no output")
    _check_value(message.output, job, "the output")


def _check_world(message: ResultMessage, job: Job) -> None:
    world = message.world
    assert world is not None
    mode = (job.world or {}).get("mode")
    if mode is None or (world.recording is None) != (mode == "replay"):
        raise ProtocolViolation(f"world: not what this job asked for ({mode or 'nothing'})")
    if world.report is not None and world.recording is not None:
        raise ProtocolViolation("world: a recording or a report, not both")
    if world.recording is not None:
        limit = int((job.world or {}).get("http_limit", 0))
        sizes = sum(len(json.dumps([i.request, i.response])) for i in world.recording.http)
        if sizes > limit + 64 * 1024:
            raise ProtocolViolation(
                f"world: recorded HTTP interactions of {sizes} bytes are past the limit "
                f"({limit} bytes)"
            )
        if world.recording.clock_reads < len(world.recording.clock):
            raise ProtocolViolation("world: fewer clock reads than values")
    if world.report is not None and world.report.divergence is not None:
        step_id = world.report.divergence.step_id
        if step_id is not None and step_id > job.step_budget:
            raise ProtocolViolation("world: the divergence's step is past the step budget")


class PartialRecording:
    """A recording run's world messages put together: what it recorded until it stopped
    reporting (timed out, crashed, cancelled), to be kept as its partial tree is. The
    recording's limits hold for the sum (:class:`ProtocolViolation` past them)."""

    def __init__(self, job: Job) -> None:
        self.http_limit = int((job.world or {}).get("http_limit", 0))
        self.recording: dict[str, Any] | None = None
        self.urandom = bytearray()
        self.http_size = 0

    def add(self, part: dict[str, Any]) -> None:
        """Add one checked world message's ``recording``."""
        recording = self.recording
        if recording is None:
            recording = self.recording = {**part, "clock": [], "http": [], "urandom": ""}
        elif part["seed"] != recording["seed"]:
            raise ProtocolViolation("world: the seed changed while the run went on")
        if len(recording["clock"]) + len(part["clock"]) > CLOCK_LIMIT:
            raise ProtocolViolation(f"world: more than {CLOCK_LIMIT} clock values")
        drawn = base64.b64decode(part["urandom"])
        if len(self.urandom) + len(drawn) > URANDOM_LIMIT:
            raise ProtocolViolation(f"world: more than {URANDOM_LIMIT} random bytes")
        self.http_size += sum(len(json.dumps([i["request"], i["response"]])) for i in part["http"])
        if self.http_size > self.http_limit + 64 * 1024:
            raise ProtocolViolation(
                f"world: recorded HTTP interactions of {self.http_size} bytes are past the "
                f"limit ({self.http_limit} bytes)"
            )
        recording["clock"].extend(part["clock"])
        recording["http"].extend(part["http"])
        self.urandom += drawn
        for total in ("clock_reads", "urandom_bytes", "http_dropped"):
            recording[total] = max(int(recording[total]), int(part[total]))
        recording["clock_reads"] = max(recording["clock_reads"], len(recording["clock"]))

    def document(self, *, complete: bool = False) -> dict[str, Any] | None:
        """The ``world`` of the run's outcome: the parts put together, marked ``partial``
        unless the run's result brought the last part (``complete``); ``None`` when no
        progress came."""
        if self.recording is None:
            return None
        recording = {
            **self.recording,
            "urandom": base64.b64encode(bytes(self.urandom)).decode("ascii"),
        }
        if not complete:
            recording["partial"] = True
        return {"recording": recording}


def _check_value(value: CapturedValue | None, job: Job, where: str) -> None:
    if value is not None and value.blob is not None and len(value.blob) > job.value_budget:
        raise ProtocolViolation(
            f"{where}: a serialized value of {len(value.blob)} bytes is past the value budget "
            f"({job.value_budget} bytes)"
        )


def _describe(error: ValidationError) -> str:
    """The first problem, with where it is (never the offending value: it can be huge)."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "the message"
    more = error.error_count() - 1
    return f"{where}: {first['msg']}" + (f" (and {more} more problems)" if more else "")
