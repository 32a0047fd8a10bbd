"""An async generator advanced by different coroutines, then athrow/aclose'd by others."""
import asyncio


def log(x):
    return x


async def stream():
    try:
        for i in range(5):
            try:
                yield i
            except ValueError:
                log("recovered")
        log("exhausted")
    finally:
        log("stream-finally")


async def take(agen):
    return await agen.__anext__()


async def poke(agen):
    value = await agen.athrow(ValueError("poke"))
    log("poke-after")
    return value


async def stop(agen):
    await agen.aclose()
    return log("stop-after")


async def amain():
    agen = stream()
    a = await take(agen)
    log("amain-1")
    b = await poke(agen)
    log("amain-2")
    c = await stop(agen)
    log("amain-3")
    return a, b, c


def main():
    return asyncio.run(amain())


EXPECTED_TREE = """
main
  amain
    take
      stream
        log
        log
    log
    poke
      log
    log
    stop
      log
    log
"""
