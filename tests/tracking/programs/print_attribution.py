"""print output goes to the innermost running step (not to a suspended generator)."""
import sys


def inner():
    print("inner says hi")
    return 1


def outer():
    print("outer before")
    inner()
    print("outer after", end="")
    print()
    return 2


def gen_prints():
    print("gen start")
    yield 1
    print("gen resumed")


def main():
    print("main start")
    outer()
    g = gen_prints()
    next(g)
    print("main between")
    next(g, None)
    sys.stdout.write("direct write\n")
    print("to stderr", file=sys.stderr)
    print("many", "args", sep="-")
    return "ok"


EXPECTED_TREE = """
main
  outer
    inner
  gen_prints
"""
