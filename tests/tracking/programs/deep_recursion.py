"""2000 levels of recursion with a raised recursion limit: same result; in the recording the
first 500 levels are steps and the deeper calls are aggregated under the deepest step."""
import sys


def down(n):
    if n == 0:
        return 0
    return 1 + down(n - 1)


def main():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 6000))
    try:
        return down(2000)
    finally:
        sys.setrecursionlimit(old)


EXPECTED_TREE = "main\n" + "".join("  " * depth + "down\n" for depth in range(1, 501))
EXPECTED_TREE += "  " * 501 + "down x1501 (aggregated)\n"
