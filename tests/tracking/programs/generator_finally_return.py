"""A generator whose finally returns a value when an exception is thrown into it."""


def log(x):
    return x


def gen_finally():
    try:
        yield 1
        yield 2
    finally:
        log("finally")
        return "gen-final"  # noqa: B012


def main():
    gen = gen_finally()
    first = next(gen)
    try:
        gen.throw(KeyError("into gen"))
    except StopIteration as stop:
        stopped = stop.value
    return first, stopped, log("after")


EXPECTED_TREE = """
main
  gen_finally
    log
  log
"""
