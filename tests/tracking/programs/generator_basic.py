"""A generator's step spans first next() to exhaustion; its calls nest under it."""


def helper(x):
    return x * 10


def numbers(n):
    for i in range(n):
        yield helper(i)
    return "done"


def consume():
    return list(numbers(3))


def main():
    unstarted = numbers(5)  # never started: no step
    total = sum(numbers(2))
    return consume(), total, type(unstarted).__name__, unstarted.gi_frame.f_lineno


EXPECTED_TREE = """
main
  numbers
    helper
    helper
  consume
    numbers
      helper
      helper
      helper
"""
