"""Class-based context managers (__enter__/__exit__ suppressing or not) and async ones."""
import asyncio


def note(x):
    return x


class Suppress:
    def __init__(self, *kinds):
        self.kinds = kinds

    def __enter__(self):
        note("enter")
        return self

    def __exit__(self, exc_type, exc, tb):
        note("exit")
        return exc_type is not None and issubclass(exc_type, self.kinds)


class AsyncResource:
    async def __aenter__(self):
        await asyncio.sleep(0)
        return "resource"

    async def __aexit__(self, *exc_info):
        note("aexit")
        return False


async def use_async():
    async with AsyncResource() as r:
        return r


def main():
    with Suppress(KeyError):
        raise KeyError("suppressed")
    try:
        with Suppress(KeyError):
            raise ValueError("escapes")
    except ValueError as exc:
        escaped = str(exc)
    return escaped, asyncio.run(use_async())


EXPECTED_TREE = """
main
  Suppress.__init__
  Suppress.__enter__
    note
  Suppress.__exit__
    note
  Suppress.__init__
  Suppress.__enter__
    note
  Suppress.__exit__
    note
  use_async
    AsyncResource.__aenter__
    AsyncResource.__aexit__
      note
"""
