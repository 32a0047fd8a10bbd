"""Lambdas and comprehensions are not steps: calls made in them belong to the enclosing step."""


def double(x):
    return x * 2


def main():
    f = lambda y: double(y) + 1  # noqa: E731
    lst = [double(i) for i in range(2)]
    st = {double(i) for i in range(1)}
    dc = {i: f(i) for i in range(1)}
    gen = sum(double(i) for i in range(2))
    key_sorted = sorted([3, 1, 2], key=lambda v: -double(v))
    nested = [[double(j) for j in range(i)] for i in range(2)]
    gen_lambda = lambda: (yield double(7))  # noqa: E731
    g = gen_lambda()
    first = next(g)
    return lst, st, dc, gen, key_sorted, nested, first, f.__name__, gen_lambda.__qualname__


EXPECTED_TREE = """
main
  double
  double
  double
  double
  double
  double
  double
  double
  double
  double
  double
"""
