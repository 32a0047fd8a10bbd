"""contextlib.asynccontextmanager: the async generator's setup/teardown nest under its step."""
import asyncio
import contextlib


def log(x):
    return x


@contextlib.asynccontextmanager
async def session(name):
    log("open " + name)
    try:
        yield name
    finally:
        await asyncio.sleep(0)
        log("close " + name)


async def work(x):
    return x


async def amain():
    async with session("s1") as s:
        await work(s)
    return "done"


def main():
    return asyncio.run(amain())


EXPECTED_TREE = """
main
  amain
    session
      log
      log
    work
"""
