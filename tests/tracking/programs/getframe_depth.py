"""sys._getframe: depth of the f_back chain, caller names and line numbers are unchanged."""
import inspect
import sys


def depth_to(marker):
    depth = 0
    frame = sys._getframe()
    while frame is not None and frame.f_code.co_name != marker:
        depth += 1
        frame = frame.f_back
    return depth


def total_depth():
    depth = 0
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def recurse(n):
    if n == 0:
        return depth_to("main"), total_depth()
    return recurse(n - 1)


def caller_info():
    caller = sys._getframe(1)
    return caller.f_code.co_name, caller.f_lineno, inspect.currentframe().f_lineno


def stack_names():
    return [f.function for f in inspect.stack(0)][:4]


def main():
    return (recurse(5), caller_info(), sys._getframe(0).f_code.co_name, stack_names(),
            [recurse(i) for i in range(2)])


EXPECTED_TREE = """
main
  recurse
    recurse
      recurse
        recurse
          recurse
            recurse
              depth_to
              total_depth
  caller_info
  stack_names
  recurse
    depth_to
    total_depth
  recurse
    recurse
      depth_to
      total_depth
"""
