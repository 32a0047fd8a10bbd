"""Recursing until RecursionError: the depth reached and the traceback are unchanged.

The limit is set relative to the current depth so the numbers do not depend on the caller.
"""
import sys
import traceback


def current_depth():
    depth = 0
    frame = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth


def dive(n):
    try:
        return dive(n + 1)
    except RecursionError:
        return n


COUNT = 0


def plunge():
    global COUNT
    COUNT += 1
    plunge()


def main():
    global COUNT
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(current_depth() + 120)
    try:
        reached = dive(0)
        COUNT = 0
        try:
            plunge()
        except RecursionError as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            error = (str(exc), len(frames), sorted({f.lineno for f in frames}))
    finally:
        sys.setrecursionlimit(old)
    return reached, COUNT, error
