"""Class decorators that add methods, callable instances, functions attached to classes later."""


def add_greeting(cls):
    def greet(self):
        return f"hello from {type(self).__name__}"

    cls.greet = greet
    return cls


@add_greeting
class Person:
    def __init__(self, name):
        self.name = name


def standalone(self):
    return self.name.upper()


Person.shout = standalone


class Multiplier:
    def __init__(self, k):
        self.k = k

    def __call__(self, x):
        return x * self.k


def main():
    p = Person("ada")
    triple = Multiplier(3)
    return p.greet(), p.shout(), list(map(triple, [1, 2])), Person.greet.__qualname__


EXPECTED_TREE = """
main
  Person.__init__
  Multiplier.__init__
  add_greeting.<locals>.greet
  standalone
  Multiplier.__call__
  Multiplier.__call__
"""
