"""contextlib.contextmanager generators: setup/teardown calls nest under the generator's step,
the with-block's calls do not; exceptions thrown into the generator are handled or re-raised
(a generator that lets a thrown exception pass through it has failed, like any frame the
exception passes through)."""
import contextlib


def log(x):
    return x


@contextlib.contextmanager
def managed(name):
    log("enter " + name)
    try:
        yield name.upper()
    except ZeroDivisionError:
        log("handled")
    finally:
        log("exit " + name)


def body(x):
    return x


def main():
    with managed("a") as value:
        body(value)
    with managed("b"):
        1 / 0
    try:
        with managed("c"):
            raise KeyError("c")
    except KeyError as exc:
        caught = repr(exc)
    with contextlib.ExitStack() as stack:
        stack.enter_context(managed("d"))
        body("in-stack")
    return value, caught


EXPECTED_TREE = """
main
  managed
    log
    log
  body
  managed
    log
    log
    log
  managed [failed]
    log
    log
  managed
    log
    log
  body
"""
