"""The worker protocol is untrusted input: every message is checked (issue 10)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from runtree.errors import ProtocolViolation
from runtree.execution import supervisor as supervisor_module
from runtree.execution.job import FunctionSource, Job
from runtree.execution.protocol import (
    LimitMessage,
    PartialRecording,
    ResultMessage,
    StepsMessage,
    parse_message,
)
from runtree.execution.supervisor import Supervisor
from runtree.execution.worker import _json_default
from runtree.execution.zygote_launcher import ZygoteLauncher

JOB = Job(
    "e1",
    "default",
    "main",
    {"main": FunctionSource("def main():\n    pass\n", 1)},
    step_budget=100,
    value_budget=1024,
)


def wire(message: dict[str, Any]) -> bytes:
    """A message as the worker sends it."""
    return json.dumps(message, default=_json_default, allow_nan=False).encode()


def value(preview: Any = 1, **more: Any) -> dict[str, Any]:
    return {
        "preview": preview,
        "size": 2,
        "format": "pickle",
        "truncated": False,
        "redacted": False,
        "type": "int",
        **more,
    }


def step(step_id: int = 1, **more: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "parent_id": None,
        "sequence": step_id,
        "depth": 0,
        "name": "main",
        "filename": "default/main.py",
        "lineno": 1,
        "version": 1,
        "status": "completed",
        "started_at_ns": 1,
        "duration_ns": 5,
        "inputs": {"x": value(blob=b"\x80\x05K\x01.")},
        "output": value(),
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [{"name": "f", "count": 3, "total_ns": 9, "errors": 0}],
        "generator": None,
        "function": "default/main",
        **more,
    }


# One prehash of a redacted scalar, as the worker sends it (runtree.tracking.value_digest).
HIDDEN = {"key": "password", "digest": "0123456789abcdef" * 2}


def result(**more: Any) -> dict[str, Any]:
    return {
        "type": "result",
        "status": "succeeded",
        "output": value(),
        "stdout": "hi\n",
        "stdout_truncated": False,
        "steps": [step()],
        **more,
    }


def violation(message: dict[str, Any] | bytes) -> str:
    line = message if isinstance(message, bytes) else wire(message)
    with pytest.raises(ProtocolViolation) as caught:
        parse_message(line, JOB)
    return str(caught.value)


def test_the_honest_messages_pass_as_sent_with_their_blobs_as_bytes() -> None:
    sent = [step(1), step(2, parent_id=1)]
    steps = parse_message(wire({"type": "steps", "steps": sent}), JOB)
    assert isinstance(steps.message, StepsMessage)
    assert steps.steps == sent  # blobs included, as bytes again
    assert steps.steps[0]["inputs"]["x"]["blob"] == b"\x80\x05K\x01."
    limit = parse_message(wire({"type": "limit", "limit": "output", "written": 9}), JOB)
    assert isinstance(limit.message, LimitMessage) and limit.steps == []
    error = {
        "type": "KeyError",
        "message": "'k'",
        "step_id": 1,
        "from_step": None,
        "traceback": [
            {"filename": "default/main.py", "lineno": 3, "name": "main", "line": "x['k']"}
        ],
    }
    failed = parse_message(wire(result(status="failed", output=None, error=error)), JOB)
    assert isinstance(failed.message, ResultMessage) and failed.message.status == "failed"
    assert (failed.error, failed.output) == (error, None)
    succeeded = parse_message(wire(result(output=value(7, blob=b"\x80\x05K\x07."))), JOB)
    assert succeeded.output == value(7, blob=b"\x80\x05K\x07.")
    minimal = {"type": "result", "status": "succeeded", "output": {"preview": 1}}
    assert parse_message(wire(minimal), JOB).steps == []  # optional keys may be left out


def rows(levels: int) -> list[dict[str, Any]]:
    row: dict[str, Any] = {"name": "f", "count": 1, "total_ns": 1, "errors": 0}
    for _ in range(levels - 1):
        row = {"name": "f", "count": 1, "total_ns": 1, "errors": 0, "children": [row]}
    return [row]


def test_prehashes_of_redacted_values_pass_up_to_their_limit() -> None:
    hidden = [{"key": "password", "digest": f"{n:032x}"} for n in range(100)]
    checked = parse_message(
        wire({"type": "steps", "steps": [step(1, output=value("[redacted]", hidden=hidden))]}),
        JOB,
    )
    assert checked.steps[0]["output"]["hidden"] == hidden


def test_nested_aggregate_rows_pass_up_to_their_limit() -> None:
    message = parse_message(wire({"type": "steps", "steps": [step(1, aggregates=rows(64))]}), JOB)
    assert message.steps[0]["aggregates"] == rows(64)
    assert "aggregate rows nest deeper than 64" in violation(
        {"type": "steps", "steps": [step(1, aggregates=rows(65))]}
    )


def test_a_user_value_shaped_like_an_encoding_stays_what_it_is() -> None:
    user = {"__b64__": "aGk="}
    message = parse_message(wire(result(output=value(user))), JOB)
    assert message.output == value(user)


@pytest.mark.parametrize(
    ("forged", "expected"),
    [
        ({"type": "result", "status": "running"}, "status"),
        ({"type": "result", "status": "exploded", "error": None}, "status"),
        ({"type": "result", "status": "queued"}, "status"),
        (result(output=[1, 2]), "output"),
        (result(output=None), "must have an output"),
        (result(status="failed", output=None), "must have an error"),
        (result(stdout=["not", "text"]), "stdout"),
        (result(stdout="x" * (1024 * 1024 + 1)), "stdout"),
        (result(extra="field"), "extra"),
        ({"type": "steps", "steps": []}, "steps"),
        ({"type": "steps", "steps": [step(101)]}, "step budget"),
        ({"type": "steps", "steps": [step(2, parent_id=5)]}, "parent"),
        ({"type": "steps", "steps": [step(1, status="mystery")]}, "status"),
        ({"type": "steps", "steps": [step(1, id="1")]}, "id"),
        ({"type": "steps", "steps": [step(1, output={"preview": 1, "size": -1})]}, "size"),
        ({"type": "steps", "steps": [step(1, output=value(length=-1))]}, "length"),
        ({"type": "steps", "steps": [step(1, output=value(type="x" * 201))]}, "type"),
        ({"type": "steps", "steps": [step(i) for i in range(1, 202)]}, "steps"),
        ({"type": "steps", "steps": [step(1, output=value(blob=b"x" * 1025))]}, "value budget"),
        ({"type": "steps", "steps": [step(1, output=value(blob="not base64!"))]}, "base64"),
        ({"type": "steps", "steps": [step(1, output=value(hidden=[HIDDEN] * 101))]}, "hidden"),
        (
            {
                "type": "steps",
                "steps": [step(1, output=value(hidden=[{**HIDDEN, "digest": "A" * 32}]))],
            },
            "digest",
        ),
        (
            {
                "type": "steps",
                "steps": [step(1, output=value(hidden=[{**HIDDEN, "digest": "a" * 64}]))],
            },
            "digest",
        ),
        (
            {
                "type": "steps",
                "steps": [step(1, output=value(hidden=[{**HIDDEN, "key": "k" * 201}]))],
            },
            "key",
        ),
        (
            {
                "type": "steps",
                "steps": [step(1, output=value(hidden=[{**HIDDEN, "value": "clear"}]))],
            },
            "value",
        ),
        (
            {"type": "steps", "steps": [step(1, output=value(hidden=[["password", "a" * 32]]))]},
            "hidden",
        ),
        ({"type": "limit", "limit": "disk", "written": 1}, "limit"),
        ({"type": "hello"}, "type"),
        ({"status": "succeeded"}, "type"),
    ],
)
def test_forged_messages_are_violations(forged: dict[str, Any], expected: str) -> None:
    assert expected in violation(forged)


def test_garbage_and_deep_nesting_are_violations() -> None:
    assert "not JSON" in violation(b"\xff\xfe garbage")
    assert "not JSON" in violation(b'["a list, not an object"')
    assert "dictionary" in violation(b"[1, 2]")
    assert "deeper than 64" in violation(b"[" * 100_000 + b"]" * 100_000)
    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    assert "deeper than 64" in violation(result(output=value(deep)))


def test_blobs_are_sent_as_plain_base64_strings() -> None:
    sent = json.loads(wire({"blob": b"hi"}))
    assert sent == {"blob": base64.b64encode(b"hi").decode()}


# --- through a real worker process -------------------------------------------------------

# Writes a line to every pipe this process may write to (its message pipe among them), then
# leaves without a word of its own.
FORGE = """
import fcntl, os, stat
def forge(line: str):
    for fd in range(3, 256):
        try:
            mode, flags = os.fstat(fd).st_mode, fcntl.fcntl(fd, fcntl.F_GETFL)
        except OSError:
            continue
        if stat.S_ISFIFO(mode) and flags & os.O_ACCMODE == os.O_WRONLY:
            os.write(fd, line.encode() + b"\\n")
    os._exit(0)
"""


@pytest.fixture(scope="module")
def launcher() -> Any:
    made = ZygoteLauncher()
    yield made
    made.close()


def run(launcher: ZygoteLauncher, name: str, source: str, **kwargs: Any) -> Any:
    job = Job("e1", "default", name, {name: FunctionSource(source, 1)}, kwargs=kwargs)
    return Supervisor(launcher).run(job, on_steps=lambda steps: None)


@pytest.mark.slow
@pytest.mark.parametrize(
    "forged",
    [
        {"type": "result", "status": "running"},
        {"type": "result", "status": "exploded"},
        result(output=[1, 2]),
        {"type": "steps", "steps": [step(50_000)]},
        "[" * 100_000,
    ],
    ids=["running", "made-up-status", "list-output", "past-the-budget", "deep"],
)
def test_a_forged_message_crashes_the_execution(launcher: ZygoteLauncher, forged: Any) -> None:
    line = forged if isinstance(forged, str) else wire(forged).decode()
    outcome = run(launcher, "forge", FORGE, line=line)
    assert outcome.status == "crashed", outcome
    assert outcome.error["type"] == "WorkerProtocolError"
    assert outcome.error["message"].startswith("worker protocol violation: ")


@pytest.mark.slow
def test_a_function_returning_the_old_encoding_succeeds(launcher: ZygoteLauncher) -> None:
    outcome = run(launcher, "main", 'def main():\n    return {"__b64__": "aGk="}\n')
    assert outcome.status == "succeeded", outcome
    assert outcome.output["preview"] == {"__b64__": "aGk="}


def test_captured_values_keep_the_shape_they_were_sent_in() -> None:
    sent = value(None)  # the value None: its preview is None, and there is no blob
    message = parse_message(wire({"type": "steps", "steps": [step(1, output=sent)]}), JOB)
    assert message.steps[0]["output"] == sent
    outcome = parse_message(wire(result(output=sent)), JOB)
    assert outcome.output == sent


# --- what a run got from the outside world (deterministic replay) ---------------------------

RECORDING_JOB = Job(
    "e2",
    "default",
    "main",
    {"main": FunctionSource("def main():\n    pass\n", 1)},
    step_budget=100,
    value_budget=1024,
    world={"mode": "record", "http_limit": 4096, "secret_names": [], "network": True},
)


def recording(**more: Any) -> dict[str, Any]:
    return {
        "format": 1,
        "seed": 7,
        "clock": [1, 2],
        "clock_reads": 2,
        "urandom": "AAAA",
        "urandom_bytes": 3,
        "http": [{"request": {"method": "GET"}, "response": {"status": {"code": 200}}}],
        "http_dropped": 0,
        **more,
    }


def io_step(**more: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "parent_id": 1,
        "name": "GET http://partner.example/orders/7",
        "kind": "io",
        "io": {"method": "GET", "url": "http://partner.example/orders/7", "status": 200},
    }
    return step(2, **{**fields, **more})


def test_a_recording_and_io_steps_pass_when_the_job_asked_for_them() -> None:
    checked = parse_message(
        wire(result(steps=[step(), io_step()], world={"recording": recording()})), RECORDING_JOB
    )
    assert checked.world == {"recording": recording()}
    assert checked.steps[1]["kind"] == "io" and checked.steps[1]["io"]["status"] == 200


@pytest.mark.parametrize(
    ("forged", "expected"),
    [
        (result(world={"recording": recording(clock=[1] * 100_001)}), "clock"),
        (result(world={"recording": recording(clock_reads=1)}), "fewer clock reads"),
        (result(world={"recording": recording(seed=-1)}), "seed"),
        (result(world={"recording": recording(urandom="A" * 90_000)}), "urandom"),
        (
            result(world={"recording": recording(http=[{"request": "x" * 70_000, "response": 1}])}),
            "past the limit",
        ),
        (result(world={"report": {"http": {"recorded": 0, "played": 0, "unplayed": []}}}), "world"),
        (result(world={"recording": recording(), "extra": 1}), "extra"),
        (result(steps=[step(), io_step(kind="socket")]), "kind"),
        (
            result(steps=[step(), io_step(io={"method": "GET", "url": "u", "status": 1000})]),
            "status",
        ),
    ],
)
def test_forged_recordings_are_violations(forged: dict[str, Any], expected: str) -> None:
    with pytest.raises(ProtocolViolation) as caught:
        parse_message(wire(forged), RECORDING_JOB)
    assert expected in str(caught.value)


def test_a_recording_the_job_did_not_ask_for_is_a_violation() -> None:
    assert "not what this job asked for" in violation(result(world={"recording": recording()}))


# --- a recording run's progress (partial recordings) -------------------------------------


def test_world_progress_adds_up_to_a_partial_recording() -> None:
    partial = PartialRecording(RECORDING_JOB)
    assert partial.document() is None  # nothing came
    first = recording(clock=[1, 2], clock_reads=2, urandom=base64.b64encode(b"ab").decode())
    second = recording(clock=[3], clock_reads=5, urandom=base64.b64encode(b"c").decode())
    for part in (first, second):
        checked = parse_message(wire({"type": "world", "recording": part}), RECORDING_JOB)
        assert checked.world is not None
        partial.add(checked.world)
    document = partial.document()
    assert document is not None
    kept = document["recording"]
    assert kept["partial"] is True and kept["seed"] == 7
    assert kept["clock"] == [1, 2, 3] and kept["clock_reads"] == 5
    assert base64.b64decode(kept["urandom"]) == b"abc"
    assert len(kept["http"]) == 2


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([recording(clock=[1] * 60_000, clock_reads=60_000)] * 2, "clock values"),
        ([recording(urandom="A" * 60_000)] * 2, "random bytes"),
        ([recording(http=[{"request": "x" * 3_000, "response": 1}])] * 30, "past the limit"),
        ([recording(), recording(seed=8)], "seed changed"),
    ],
)
def test_world_progress_past_the_limits_in_sum_is_a_violation(
    parts: list[dict[str, Any]], expected: str
) -> None:
    partial = PartialRecording(RECORDING_JOB)
    with pytest.raises(ProtocolViolation) as caught:
        for part in parts:
            partial.add(
                parse_message(wire({"type": "world", "recording": part}), RECORDING_JOB).world or {}
            )
    assert expected in str(caught.value)


def test_world_progress_from_a_job_that_does_not_record_is_a_violation() -> None:
    assert "does not record" in violation({"type": "world", "recording": recording()})


CLOCKED = """\
import random
import time


def clocked():
    first = time.time()
    time.sleep(0.3)  # world messages go out meanwhile
    return [first, time.time(), random.random()]
"""


@pytest.mark.slow
def test_a_run_that_streamed_its_world_reports_the_rest_and_keeps_it_whole(
    launcher: ZygoteLauncher, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = {"mode": "record", "http_limit": 4096, "secret_names": [], "network": False}
    job = Job("e3", "default", "clocked", {"clocked": FunctionSource(CLOCKED, 1)}, world=world)
    sent: list[bytes] = []
    real = supervisor_module.parse_message

    def spy(line: bytes, job: Job) -> Any:
        sent.append(line)
        return real(line, job)

    monkeypatch.setattr(supervisor_module, "parse_message", spy)
    outcome = Supervisor(launcher).run(job, on_steps=lambda steps: None)
    assert outcome.status == "succeeded", outcome.error
    types = [json.loads(line)["type"] for line in sent]
    assert "world" in types  # it did stream its progress
    assert outcome.world is not None
    recording = outcome.world["recording"]
    assert "partial" not in recording
    assert recording["clock_reads"] == len(recording["clock"]) >= 2
    final = json.loads(sent[-1])["world"]["recording"]
    assert len(final["clock"]) < len(recording["clock"])  # the result carried only the rest
