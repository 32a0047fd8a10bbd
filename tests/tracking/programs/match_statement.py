"""match: class patterns (with guards calling functions), mappings, sequences, or-patterns."""
from dataclasses import dataclass


@dataclass
class Pt:
    x: int
    y: int


def is_small(n):
    return abs(n) < 10


def classify(obj):
    match obj:
        case Pt(x=0, y=0):
            return "origin"
        case Pt(x=x, y=y) if is_small(x) and is_small(y):
            return f"small {x},{y}"
        case Pt():
            return "far"
        case {"kind": "circle", "r": r}:
            return f"circle {r}"
        case [first, *rest] if len(rest) > 1:
            return f"seq {first}+{len(rest)}"
        case str() | bytes() as s:
            return f"text {s!r}"
        case int(n) if n < 0:
            return "negative"
        case _:
            return "other"


def main():
    values = [Pt(0, 0), Pt(1, 2), Pt(50, 1), {"kind": "circle", "r": 3}, [1, 2, 3], "hi", -5, 7]
    return [classify(v) for v in values]


EXPECTED_TREE = """
main
  classify
  classify
    is_small
    is_small
  classify
    is_small
  classify
  classify
  classify
  classify
  classify
"""
