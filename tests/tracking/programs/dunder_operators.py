"""Dunder methods called implicitly by operators and builtins: arithmetic (with NotImplemented
and reflected fallbacks), comparisons via total_ordering, hashing, len/bool/contains, call,
format/str/repr."""
import functools


@functools.total_ordering
class Money:
    def __init__(self, cents):
        self.cents = cents

    def __add__(self, other):
        if isinstance(other, Money):
            return Money(self.cents + other.cents)
        return NotImplemented

    def __radd__(self, other):
        if other == 0:
            return self
        return NotImplemented

    def __eq__(self, other):
        return isinstance(other, Money) and self.cents == other.cents

    def __lt__(self, other):
        return self.cents < other.cents

    def __hash__(self):
        return hash(self.cents)

    def __bool__(self):
        return self.cents != 0

    def __repr__(self):
        return f"Money({self.cents})"

    def __format__(self, spec):
        return f"${self.cents / 100:{spec or '.2f'}}"


class Bag:
    def __init__(self, *items):
        self.items = list(items)

    def __len__(self):
        return len(self.items)

    def __contains__(self, item):
        return item in self.items

    def __call__(self, extra):
        return len(self) + extra


def main():
    a, b = Money(150), Money(50)
    total = sum([a, b])
    try:
        a + 1
    except TypeError as exc:
        error = str(exc)
    bag = Bag(1, 2)
    return (repr(total), a > b, a <= b, len({a, Money(150)}), bool(Money(0)), f"{a:.1f}",
            error, 2 in bag, bag(10))


EXPECTED_TREE = """
main
  Money.__init__
  Money.__init__
  Money.__radd__
  Money.__add__
    Money.__init__
  Money.__add__
  Bag.__init__
  Money.__repr__
  Money.__lt__
  Money.__eq__
  Money.__lt__
  Money.__eq__
  Money.__init__
  Money.__hash__
  Money.__hash__
  Money.__eq__
  Money.__init__
  Money.__bool__
  Money.__format__
  Bag.__contains__
  Bag.__call__
    Bag.__len__
"""
