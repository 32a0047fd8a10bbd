"""Re-raising: bare raise, raise exc, with_traceback, raising in except of a different frame,
traceback.print_exc output (to stderr), add_note."""
import sys
import traceback


def fail():
    raise ValueError("original")


def bare():
    try:
        fail()
    except ValueError:
        raise


def named():
    try:
        fail()
    except ValueError as exc:
        raise exc


def swapped_traceback():
    try:
        fail()
    except ValueError as exc:
        tb = exc.__traceback__
    raise KeyError("new").with_traceback(tb)


def noted():
    try:
        fail()
    except ValueError as exc:
        exc.add_note("context added")
        raise


def lines(exc):
    return [(f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]


def main():
    out = []
    for fn in (bare, named, swapped_traceback, noted):
        try:
            fn()
        except Exception as exc:
            out.append((fn.__name__, type(exc).__name__, lines(exc), getattr(exc, "__notes__", None)))
            traceback.print_exc()
            out.append(sys.exc_info()[0].__name__)
    return out


EXPECTED_TREE = """
main
  bare [failed]
    fail [failed]
  lines
  named [failed]
    fail [failed]
  lines
  swapped_traceback [failed]
    fail [failed]
  lines
  noted [failed]
    fail [failed]
  lines
"""
