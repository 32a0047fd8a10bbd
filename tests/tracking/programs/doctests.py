"""Module docstring with an example.

>>> square(3)
9
"""
import doctest
import sys


def square(x):
    """Return x squared.

    >>> square(4)
    16
    >>> [square(i) for i in range(3)]
    [0, 1, 4]
    """
    return x * x


class Greeter:
    """
    >>> Greeter("a").greet()
    'hi a'
    """

    def __init__(self, name):
        self.name = name

    def greet(self):
        """
        >>> Greeter("b").greet()
        'hi b'
        """
        return "hi " + self.name


def failing():
    """
    >>> failing()
    2
    """
    return 1


def main():
    module = sys.modules[__name__]
    tests = sorted(doctest.DocTestFinder().find(module), key=lambda t: t.name)
    runner = doctest.DocTestRunner(verbose=False)
    report = []
    results = []
    for test in tests:
        outcome = runner.run(test, out=report.append)
        results.append((test.name.split(".", 1)[-1], test.lineno, len(test.examples),
                        outcome.failed, outcome.attempted,
                        [example.lineno for example in test.examples]))
    return results, "".join(report)


EXPECTED_TREE = """
main
  square
  Greeter.__init__
  Greeter.greet
  Greeter.__init__
  Greeter.greet
  failing
  square
  square
  square
  square
"""
