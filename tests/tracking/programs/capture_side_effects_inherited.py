"""Capturing must not run user code reached indirectly while pickling: an overridden __iter__ of
a list subclass, an overridden items() of a dict subclass, a copyreg-registered reducer."""
import copyreg

EVENTS = []


class Bag(list):
    def __iter__(self):
        EVENTS.append("iter")
        return super().__iter__()


class Table(dict):
    def items(self):
        EVENTS.append("items")
        return super().items()


class Point:
    def __init__(self, x):
        self.x = x


def reduce_point(point):
    EVENTS.append("reduce_point")
    return (Point, (point.x,))


copyreg.pickle(Point, reduce_point)


def consume(*objects):
    return len(objects)


def main():
    EVENTS.clear()
    bag, table, point = Bag([1]), Table(a=1), Point(1)
    consume(bag, table, point)
    return list(EVENTS)


EXPECTED_TREE = """
main
  Point.__init__
  consume
"""
