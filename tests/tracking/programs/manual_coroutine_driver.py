"""Coroutines driven by hand (a trampoline calling send(None)), interleaving two of them; the
driver's own calls between sends must not nest under the suspended coroutines."""
import types


def note(x):
    return x


@types.coroutine
def pause():
    yield


async def task(name, steps):
    for i in range(steps):
        note(f"{name}{i}")
        await pause()
    return name


def run(coros):
    results = {}
    pending = list(coros)
    while pending:
        for coro in list(pending):
            try:
                coro.send(None)
            except StopIteration as stop:
                results[stop.value] = True
                pending.remove(coro)
            note("tick")
    return sorted(results)


def main():
    return run([task("a", 2), task("b", 1)])


EXPECTED_TREE = """
main
  run
    task
      note
      pause
      note
      pause
    note
    task
      note
      pause
    note
    note
    note
    note
"""
