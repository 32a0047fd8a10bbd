"""A module that shadows builtins (print, RecursionError, BaseException) with its own names."""
import builtins

LOG = []


def print(*args):  # noqa: A001
    LOG.append(" ".join(map(str, args)))


class RecursionError(Exception):  # noqa: A001
    pass


class BaseException(Exception):  # noqa: A001
    pass


def fails():
    raise builtins.ValueError("real error")


def user_error():
    raise RecursionError("user-defined")


def main():
    print("hello", 1)
    caught = []
    for fn in (fails, user_error):
        try:
            fn()
        except builtins.BaseException as exc:
            caught.append((type(exc).__name__, str(exc)))
    return LOG, caught


EXPECTED_TREE = """
main
  print
  fails [failed]
  user_error [failed]
"""
