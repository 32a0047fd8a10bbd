"""Class-based iterators (__iter__/__next__ ending with StopIteration), __getitem__ iteration
ending with IndexError, and async iterators ending with StopAsyncIteration."""
import asyncio


class Countdown:
    def __init__(self, start):
        self.current = start

    def __iter__(self):
        return self

    def __next__(self):
        if self.current <= 0:
            raise StopIteration
        self.current -= 1
        return self.current + 1


class Squares:
    def __getitem__(self, index):
        if index >= 2:
            raise IndexError(index)
        return index * index


class Ticks:
    def __init__(self):
        self.n = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.n >= 1:
            raise StopAsyncIteration
        self.n += 1
        return self.n


async def drain():
    return [x async for x in Ticks()]


def main():
    return list(Countdown(2)), list(Squares()), asyncio.run(drain())


EXPECTED_TREE = """
main
  Countdown.__init__
  Countdown.__iter__
  Countdown.__next__
  Countdown.__next__
  Countdown.__next__ [failed]
  Squares.__getitem__
  Squares.__getitem__
  Squares.__getitem__ [failed]
  drain
    Ticks.__init__
    Ticks.__aiter__
    Ticks.__anext__
    Ticks.__anext__ [failed]
"""
