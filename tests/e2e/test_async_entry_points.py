"""``async def`` entry points through a real server: awaited, recorded, timed out, cancelled."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SOURCE = """\
import asyncio

async def square(i):
    await asyncio.sleep(0.01)
    return i * i

async def squares(n: int, wait_s: float = 0):
    values = await asyncio.gather(*(square(i) for i in range(n)))
    await asyncio.sleep(wait_s)
    return values
"""


def test_async_entry_points_through_the_server(server_factory: Any) -> None:
    server = server_factory()
    server.start()
    with server.client() as api:
        deployed = api.put("/functions/default/squares", json={"code": SOURCE})
        assert deployed.status_code == 201, deployed.text
        assert deployed.json()["signature"]["is_async"] is True

        done = api.post(
            "/functions/default/squares/executions", json={"input": {"n": 3}, "wait": True}
        ).json()
        assert done["status"] == "succeeded", done
        assert done["output"] == [0, 1, 4]
        steps = api.get(f"/executions/{done['id']}").json()["steps"]
        assert [s["name"] for s in steps] == ["squares", "square", "square", "square"]
        assert all(s["parent_id"] == steps[0]["id"] for s in steps[1:])

        raising = "    if i == 1:\n        raise ValueError(f'bad {i}')\n    return i * i"
        failing = SOURCE.replace("squares(", "failing(").replace("    return i * i", raising)
        assert api.put("/functions/default/failing", json={"code": failing}).status_code == 201
        failed = api.post(
            "/functions/default/failing/executions", json={"input": {"n": 3}, "wait": True}
        ).json()
        assert failed["status"] == "failed", failed
        assert failed["error"]["type"] == "ValueError" and failed["error"]["message"] == "bad 1"
        failed_steps = api.get(f"/executions/{failed['id']}").json()["steps"]
        assert [s["status"] for s in failed_steps if s["name"] == "square"].count("failed") == 1
        assert failed_steps[0]["name"] == "failing" and failed_steps[0]["status"] == "failed"

        # A short timeout only where the timeout is what is tested (a loaded machine can take
        # seconds to start a run).
        late_source = SOURCE.replace("squares(", "late(")
        assert (
            api.put("/functions/default/late", json={"code": late_source, "timeout_s": 2})
        ).status_code == 201
        late = api.post(
            "/functions/default/late/executions",
            json={"input": {"n": 2, "wait_s": 60}, "wait": True},
        ).json()
        assert late["status"] == "timed_out", late
        late_steps = api.get(f"/executions/{late['id']}").json()["steps"]
        assert [s["name"] for s in late_steps] == ["late", "square", "square"]
        assert late_steps[0]["status"] == "interrupted"

        waiter = api.put(
            "/functions/default/waiter", json={"code": SOURCE.replace("squares(", "waiter(")}
        )
        assert waiter.status_code == 201, waiter.text
        started = api.post(
            "/functions/default/waiter/executions",
            json={"input": {"n": 1, "wait_s": 60}, "wait": False},
        ).json()
        deadline = time.monotonic() + 20
        # Cancel once the coroutine is waiting (its first child has finished).
        while len(api.get(f"/executions/{started['id']}").json()["steps"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert api.post(f"/executions/{started['id']}/cancel").status_code in (200, 202)
        while (record := api.get(f"/executions/{started['id']}").json())["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert record["status"] == "cancelled", record
        assert record["steps"][0]["status"] == "interrupted"
