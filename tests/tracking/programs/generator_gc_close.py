"""A started generator dropped by the function holding it (closed by refcounting when that
function returns) runs its finally block; calls made afterwards must not nest under it or
under the finished function."""


def log(x):
    return x


def numbers():
    try:
        yield 1
        yield 2
    finally:
        log("numbers-finally")


def take_first():
    gen = numbers()
    return next(gen)


def main():
    first = take_first()
    after = log("after")
    return first, after


EXPECTED_TREE = """
main
  take_first
    numbers
      log
  log
"""
