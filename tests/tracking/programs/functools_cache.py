"""functools.cache and lru_cache: hits are not calls (no step); cache_info still works."""
import functools


@functools.cache
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@functools.lru_cache(maxsize=2)
def square(x):
    return x * x


class Grid:
    @functools.cached_property
    def size(self):
        return 42

    @functools.lru_cache
    def cell(self, i):
        return i * 2


def main():
    a = fib(6)
    b = fib(6)
    info = tuple(fib.cache_info())
    squares = [square(1), square(2), square(1), square(3), square(2)]
    g = Grid()
    sizes = (g.size, g.size)
    cells = (g.cell(1), g.cell(1))
    fib.cache_clear()
    return (a, b, info, squares, tuple(square.cache_info()), tuple(fib.cache_info()),
            fib.__wrapped__.__name__, square.__wrapped__.__qualname__, sizes, cells,
            square.cache_parameters())


EXPECTED_TREE = """
main
  fib
    fib
      fib
        fib
          fib
            fib
            fib
  square
  square
  square
  square
  Grid.size
  Grid.cell
"""
