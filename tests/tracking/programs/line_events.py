"""A line tracer (like coverage or a debugger) sees the same line events in the program's own
functions, in the same order."""
import sys


def compute(values):
    total = 0
    for v in values:
        total += v
    return total


def branchy(x):
    if x > 0:
        return "pos"
    return "neg"


def gen():
    yield 1
    yield 2


def main():
    events = []
    here = __file__

    def tracer(frame, event, arg):  # runtree: no-track
        if frame.f_code.co_filename == here and frame.f_code.co_name != "tracer":
            events.append((event, frame.f_code.co_name, frame.f_lineno))
        return tracer

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        compute([1, 2])
        branchy(1)
        branchy(-1)
        list(gen())
    finally:
        sys.settrace(old)
    return events


EXPECTED_TREE = """
main
  compute
  branchy
  branchy
  gen
"""
