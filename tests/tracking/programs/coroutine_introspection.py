"""Coroutine and generator objects: names, qualnames, states, suspended line numbers,
cr_await / gi_yieldfrom, inspect.getcoroutinestate."""
import asyncio
import inspect
import types


async def waiter(fut):
    return await fut


def delegator():
    yield from [1, 2]


def note(x):
    return x


@types.coroutine
def legacy():
    yield "bare"
    return "legacy-done"


async def uses_legacy():
    return await legacy()


def main():
    loop = asyncio.new_event_loop()
    try:
        fut = loop.create_future()
        coro = waiter(fut)
        facts = [coro.__name__, coro.__qualname__, inspect.getcoroutinestate(coro)]
        coro.send(None)
        note("between sends")  # the suspended coroutine is not this call's parent
        facts += [inspect.getcoroutinestate(coro), coro.cr_frame.f_lineno,
                  type(coro.cr_await).__name__]
        fut.set_result(7)
        try:
            coro.send(None)
        except StopIteration as stop:
            facts.append(stop.value)
        gen = delegator()
        next(gen)
        facts += [type(gen.gi_yieldfrom).__name__, gen.gi_frame.f_lineno, gen.gi_code.co_name]
        gen.close()
        c2 = uses_legacy()
        facts.append(c2.send(None))
        try:
            c2.send(None)
        except StopIteration as stop:
            facts.append(stop.value)
    finally:
        loop.close()
    return facts


EXPECTED_TREE = """
main
  waiter
  note
  delegator
  uses_legacy
    legacy
"""
