"""What sys.stdout is: user code may check its type or identity."""
import io
import sys


def check():
    return (type(sys.stdout).__name__, isinstance(sys.stdout, io.StringIO),
            isinstance(sys.stderr, io.TextIOBase), sys.stdout.__class__.__module__)


def main():
    return check()


EXPECTED_TREE = """
main
  check
"""
