"""Validators of exported trace files, shared by the unit, CLI and API tests.

``speedscope-file-format-schema.json`` is speedscope's published schema, unchanged, from its
npm package (speedscope 1.25.0, ``dist/release/file-format-schema.json``, MIT licence; the
schema served at https://www.speedscope.app/file-format-schema.json).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SPEEDSCOPE_SCHEMA = json.loads(
    (Path(__file__).parent / "speedscope-file-format-schema.json").read_text()
)
CHROME_REQUIRED = ("name", "ph", "ts", "dur", "pid", "tid")


def check_speedscope(document: dict[str, Any]) -> None:
    """Valid against speedscope's schema, and every profile's events properly nested: times
    never go back, each close matches the innermost open frame, nothing stays open."""
    jsonschema.validate(document, SPEEDSCOPE_SCHEMA)
    frames = len(document["shared"]["frames"])
    for profile in document["profiles"]:
        stack: list[int] = []
        last = profile["startValue"]
        for event in profile["events"]:
            assert 0 <= event["frame"] < frames
            assert last <= event["at"] <= profile["endValue"], event
            last = event["at"]
            if event["type"] == "O":
                stack.append(event["frame"])
            else:
                assert stack and stack.pop() == event["frame"], event
        assert stack == [], profile["name"]


def complete_events(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``"ph": "X"`` events of a Chrome trace, checked: the required fields with the
    right types, and on each thread every two slices either disjoint or one inside the other
    (compared in integer nanoseconds); a step whose parent is on its thread lies inside it."""
    events = document["traceEvents"]
    slices = [event for event in events if event["ph"] == "X"]
    assert {event["ph"] for event in events} <= {"X", "M"}
    by_step: dict[int, dict[str, Any]] = {}
    for event in slices:
        for field in CHROME_REQUIRED:
            assert field in event, (field, event)
        assert isinstance(event["name"], str)
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        assert event["ts"] >= 0 and event["dur"] >= 0
        assert {"function", "version", "status"} <= set(event["args"])
        by_step[event["args"]["step_id"]] = event

    def span(event: dict[str, Any]) -> tuple[int, int]:
        start = round(event["ts"] * 1000)
        return start, start + round(event["dur"] * 1000)

    for a in slices:
        for b in slices:
            if a is b or a["tid"] != b["tid"]:
                continue
            (a0, a1), (b0, b1) = span(a), span(b)
            disjoint = a1 <= b0 or b1 <= a0
            nested = (a0 <= b0 and b1 <= a1) or (b0 <= a0 and a1 <= b1)
            assert disjoint or nested, (a, b)
    for event in slices:
        parent = by_step.get(event["args"]["parent_id"])
        if parent is not None and parent["tid"] == event["tid"]:
            (p0, p1), (c0, c1) = span(parent), span(event)
            assert p0 <= c0 and c1 <= p1, (parent, event)
    return slices
