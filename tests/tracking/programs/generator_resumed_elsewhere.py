"""A generator started in one function and resumed by others: its own calls stay under its
step; calls the resumers make after resuming it are theirs."""


def work(tag):
    return tag


def producer():
    work("start")
    yield 1
    work("middle")
    yield 2
    work("end")


def first(gen):
    return next(gen)


def after_resume():
    return None


def later(gen):
    value = next(gen)
    after_resume()
    return value


def finish(gen):
    return list(gen)


def main():
    gen = producer()
    a = first(gen)
    work("main-1")
    b = later(gen)
    work("main-2")
    c = finish(gen)
    work("main-3")
    return a, b, c


EXPECTED_TREE = """
main
  first
    producer
      work
      work
      work
  work
  later
    after_resume
  work
  finish
  work
"""
