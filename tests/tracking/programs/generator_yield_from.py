"""yield from into an instrumented generator, into a list, a range and a generator expression;
the consumer's calls between items are not under the (suspended) generator."""


def leaf(x):
    return x


def inner():
    yield leaf(1)
    yield leaf(2)
    return "inner-done"


def outer():
    result = yield from inner()
    leaf(result)
    yield from [10, 20]
    leaf("after-list")
    yield from range(2)
    yield from (leaf(i) for i in range(2))
    return "outer-done"


def side(item):
    return item


def main():
    seen = []
    gen = outer()
    for item in gen:
        seen.append(item)
        side(item)
    return seen


EXPECTED_TREE = """
main
  outer
    inner
      leaf
      leaf
    leaf
    leaf
    leaf
    leaf
  side
  side
  side
  side
  side
  side
  side
  side
"""
