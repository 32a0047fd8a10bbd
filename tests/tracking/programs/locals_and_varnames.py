"""locals(), vars(), dir() and co_varnames are exactly the user's (no injected variables)."""


def with_args(a, b=1, *args, c, **kw):
    first = sorted(locals())
    x = a + b
    return first, sorted(locals()), sorted(dir()), x


def with_cells():
    y = 1

    def h():
        return y

    return sorted(locals()), h()


def gen_locals(n):
    total = 0
    yield sorted(locals())
    total += n
    yield sorted(locals()), total


def exec_into_locals():
    ns = {}
    exec("z = 5", globals(), ns)
    return sorted(vars()), ns["z"]


async def coro_locals(q):
    w = q
    return sorted(locals())


def main():
    import asyncio

    return (with_args(1, c=2), with_cells(), list(gen_locals(3)), exec_into_locals(),
            asyncio.run(coro_locals(1)),
            [f.__code__.co_varnames for f in (with_args, with_cells, gen_locals,
                                              exec_into_locals, coro_locals)],
            [f.__code__.co_nlocals for f in (with_args, with_cells, gen_locals)])


EXPECTED_TREE = """
main
  with_args
  with_cells
    with_cells.<locals>.h
  gen_locals
  exec_into_locals
  coro_locals
"""
