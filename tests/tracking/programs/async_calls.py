"""async def calling async and sync functions; await chains."""
import asyncio


async def fetch(n):
    await asyncio.sleep(0)
    return n * 2


async def pipeline(items):
    total = 0
    for i in items:
        total += await fetch(i)
    return total


def sync_helper(x):
    return x + 1


async def amain():
    a = await pipeline([1, 2])
    coro = fetch(0)
    kind = type(coro).__name__
    coro.close()  # never started: no step
    return sync_helper(a), amain.__qualname__, kind, coro.cr_code.co_name


def main():
    return asyncio.run(amain())


EXPECTED_TREE = """
main
  amain
    pipeline
      fetch
      fetch
    sync_helper
"""
