"""Exceptions with __cause__ (raise from), __context__ (raise while handling), from None;
the last one escapes main() so its whole chain and tracebacks are compared."""
import traceback


class AppError(Exception):
    pass


def low():
    raise KeyError("missing")


def mid():
    try:
        low()
    except KeyError as exc:
        raise AppError("wrapped") from exc


def implicit():
    try:
        low()
    except KeyError:
        raise ValueError("during handling")


def suppressed():
    try:
        low()
    except KeyError:
        raise RuntimeError("quiet") from None


def summary(exc):
    return (type(exc).__name__, str(exc), exc.__suppress_context__,
            [(f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)],
            type(exc.__cause__).__name__, type(exc.__context__).__name__)


def main():
    results = []
    for fn in (mid, implicit, suppressed):
        try:
            fn()
        except Exception as exc:
            results.append(summary(exc))
    try:
        mid()
    except AppError as exc:
        exc.add_note(repr(results))
        raise RuntimeError("top") from exc


EXPECTED_TREE = """
main [failed]
  mid [failed]
    low [failed]
  summary
  implicit [failed]
    low [failed]
  summary
  suppressed [failed]
    low [failed]
  summary
  mid [failed]
    low [failed]
"""
