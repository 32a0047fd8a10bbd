"""abc: abstract methods and properties; instantiating an abstract class fails identically."""
import abc
import inspect


class Shape(abc.ABC):
    @abc.abstractmethod
    def area(self):
        ...

    @property
    @abc.abstractmethod
    def name(self):
        """The shape's name."""

    def describe(self):
        return f"{self.name}:{self.area()}"


class Square(Shape):
    def __init__(self, side):
        self.side = side

    def area(self):
        return self.side**2

    @property
    def name(self):
        return "square"


class Half(Shape):
    def area(self):
        return super().area()


def main():
    errors = []
    for cls in (Shape, Half):
        try:
            cls()
        except TypeError as exc:
            errors.append(str(exc))
    return (errors, Square(3).describe(), sorted(Shape.__abstractmethods__),
            Shape.area.__isabstractmethod__, inspect.isabstract(Shape), inspect.isabstract(Square),
            Shape.name.__doc__)


EXPECTED_TREE = """
main
  Square.__init__
  Shape.describe
    Square.name
    Square.area
"""
