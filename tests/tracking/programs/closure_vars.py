"""inspect.getclosurevars reports the globals, builtins and unbound names a function uses."""
import inspect

FACTOR = 3


def scaled(x):
    return abs(x) * FACTOR


def main():
    cv = inspect.getclosurevars(scaled)
    return (dict(cv.nonlocals), dict(cv.globals), sorted(cv.builtins), sorted(cv.unbound),
            scaled.__code__.co_names)


EXPECTED_TREE = """
main
"""
