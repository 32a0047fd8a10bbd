"""async generators: async for, async comprehensions, asend, aclose (step spans first
__anext__ to exhaustion or close)."""
import asyncio


def log(x):
    return x


async def ticker(n):
    try:
        for i in range(n):
            await asyncio.sleep(0)
            log(i)
            yield i
    finally:
        log("cleanup")


async def consume_all():
    return [i async for i in ticker(3)]


async def consume_some():
    agen = ticker(10)
    first = await agen.__anext__()
    second = await agen.asend(None)
    await agen.aclose()
    log("after-aclose")
    return first, second


async def amain():
    a = await consume_all()
    b = await consume_some()
    return a, b


def main():
    return asyncio.run(amain())


EXPECTED_TREE = """
main
  amain
    consume_all
      ticker
        log
        log
        log
        log
    consume_some
      ticker
        log
        log
        log
      log
"""
