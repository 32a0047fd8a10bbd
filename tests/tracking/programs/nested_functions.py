"""Functions defined inside functions, several levels deep; a nested def called later."""


def outer(x):
    def middle(y):
        def inner(z):
            return z * 3

        return inner(y + 1)

    return middle(x) + middle(x + 1)


def make_adder(n):
    def adder(m):
        return n + m

    return adder


def main():
    add5 = make_adder(5)
    return outer(1), add5(10), add5.__qualname__, outer.__code__.co_consts.__class__.__name__


EXPECTED_TREE = """
main
  make_adder
  outer
    outer.<locals>.middle
      outer.<locals>.middle.<locals>.inner
    outer.<locals>.middle
      outer.<locals>.middle.<locals>.inner
  make_adder.<locals>.adder
"""
