"""asyncio.gather, create_task, ensure_future, TaskGroup, run_in_executor and to_thread: steps
of the coroutines (and executor functions) nest under the coroutine that started them."""
import asyncio


async def leaf(n):
    await asyncio.sleep(0)
    return n


async def worker(n):
    a = await leaf(n)
    await asyncio.sleep(0)
    b = await leaf(n + 1)
    return a + b


async def gatherer():
    return await asyncio.gather(worker(1), worker(10), worker(100))


async def spawner():
    t1 = asyncio.create_task(worker(2))
    t2 = asyncio.ensure_future(worker(3))
    return (await t1) + (await t2)


async def grouped():
    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(worker(5))
        b = tg.create_task(worker(6))
    return a.result() + b.result()


def blocking(x):
    return x * 2


async def executor_user():
    loop = asyncio.get_running_loop()
    a = await loop.run_in_executor(None, blocking, 4)
    b = await asyncio.to_thread(blocking, 5)
    return a + b


async def amain():
    return await gatherer(), await spawner(), await grouped(), await executor_user()


def main():
    return asyncio.run(amain())


EXPECTED_TREE = """
main
  amain
    gatherer
      worker
        leaf
        leaf
      worker
        leaf
        leaf
      worker
        leaf
        leaf
    spawner
      worker
        leaf
        leaf
      worker
        leaf
        leaf
    grouped
      worker
        leaf
        leaf
      worker
        leaf
        leaf
    executor_user
      blocking
      blocking
"""
