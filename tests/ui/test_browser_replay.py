"""The execution page's "Replay deterministically" button, in a real browser: it starts a
deterministic replay of the run, opens it, and the replay shows how it used the recording;
the replay got the recorded clock and random numbers, so its output is the original's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NS = "replayui"

DICE = """\
import random
import time


def dice(sides: int = 6):
    return {"roll": random.randint(1, sides), "noise": random.random(), "at": time.time()}
"""


def test_the_button_replays_with_the_recorded_world(
    demo: Demo, new_page: Callable[..., Any]
) -> None:
    server = demo.server
    server.deploy("dice", DICE, namespace=NS)
    original = server.run("dice", {"sides": 1000}, namespace=NS)
    assert original["status"] == "succeeded", original
    page = new_page()
    page.goto(f"{server.url}/executions/{original['id']}")
    page.get_by_role("button", name="Replay deterministically").click()
    page.wait_for_url(re.compile(r"/executions/(?!" + original["id"] + r")[^/?#]+$"))
    page.get_by_text("0 of 0 HTTP answers played").wait_for()
    replay_id = page.url.rsplit("/", 1)[1]
    page.get_by_text("replay of").locator(f"a[href='/executions/{original['id']}']").wait_for()
    replayed = server.api.get(f"/executions/{replay_id}").json()
    assert replayed["status"] == "succeeded", replayed
    assert replayed["output"] == original["output"]  # the recorded randomness and clock
    world = server.api.get(f"/executions/{replay_id}/world").json()
    assert world["mode"] == "replay" and world["report"]["divergence"] is None, world
