"""Exceptions through asyncio: gather with and without return_exceptions, cancellation,
an exception escaping asyncio.run (tracebacks compared)."""
import asyncio


async def ok(n):
    await asyncio.sleep(0)
    return n


async def boom(msg):
    await asyncio.sleep(0)
    raise ValueError(msg)


async def sleeper():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        note("cancelled")
        raise


def note(x):
    return x


async def collect():
    results = await asyncio.gather(ok(1), boom("soft"), return_exceptions=True)
    return [repr(r) for r in results]


async def cancel_one():
    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return task.cancelled()


async def amain():
    soft = await collect()
    cancelled = await cancel_one()
    note((soft, cancelled))
    await asyncio.gather(ok(2), boom("hard"))


def main():
    return asyncio.run(amain())


EXPECTED_TREE = """
main [failed]
  amain [failed]
    collect
      ok
      boom [failed]
    cancel_one
      sleeper [failed]
        note
    note
    ok
    boom [failed]
"""
