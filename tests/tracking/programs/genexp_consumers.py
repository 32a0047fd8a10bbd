"""Generator expressions and map/filter objects calling instrumented functions are driven by
whoever consumes them: the calls nest under the consuming step."""


def check(x):
    return x % 2 == 0


def transform(x):
    return x * 10


def consume(iterable):
    return list(iterable)


def main():
    lazy = (transform(x) for x in range(3) if check(x))
    mapped = map(transform, filter(check, range(4)))
    return consume(lazy), consume(mapped)


EXPECTED_TREE = """
main
  consume
    check
    transform
    check
    check
    transform
  consume
    check
    transform
    check
    check
    transform
    check
"""
