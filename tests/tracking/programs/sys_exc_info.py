"""sys.exc_info() / sys.exception() seen from functions called inside except blocks, and the
implicit __context__ of exceptions raised there."""
import sys


def current():
    info = sys.exc_info()
    return None if info[0] is None else info[0].__name__


def raise_inside_handler():
    raise RuntimeError("inner")


def main():
    outside = current()
    try:
        raise KeyError("outer")
    except KeyError:
        inside = current()
        try:
            raise_inside_handler()
        except RuntimeError as exc:
            context = repr(exc.__context__)
        still = current()
    after = current()
    return outside, inside, context, still, after, sys.exc_info() == (None, None, None)


EXPECTED_TREE = """
main
  current
  current
  raise_inside_handler [failed]
  current
  current
"""
