"""Capturing arguments must not emit warnings the program can see: on Python 3.12+, pickling an
itertools object emits a DeprecationWarning."""
import itertools
import warnings


def take(iterator, n):
    return [next(iterator) for _ in range(n)]


def main():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = take(itertools.count(5), 2)
        chained = take(itertools.chain([1], [2]), 2)
    return values, chained, [(w.category.__name__, str(w.message)) for w in caught]


EXPECTED_TREE = """
main
  take
  take
"""
