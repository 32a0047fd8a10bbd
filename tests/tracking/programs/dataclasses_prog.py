"""dataclasses: __post_init__, field defaults and default_factory, frozen, order, replace."""
from dataclasses import FrozenInstanceError, asdict, dataclass, field, fields, replace


def default_tags():
    return ["new"]


@dataclass(order=True)
class Item:
    name: str
    price: float = 0.0
    tags: list = field(default_factory=default_tags, compare=False)
    total: float = field(init=False, default=0.0, compare=False)

    def __post_init__(self):
        self.total = self.compute()

    def compute(self):
        return round(self.price * 1.2, 2)


@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0

    def norm1(self):
        return abs(self.x) + abs(self.y)


def main():
    a = Item("a", 10.0)
    b = replace(a, price=5.0)
    p = Point(3, -4)
    try:
        p.x = 1
    except FrozenInstanceError as exc:
        error = str(exc)
    return (repr(a), repr(b), a > b, asdict(a), p.norm1(), error, sorted([a, b])[0].price,
            [f.name for f in fields(Item)], Item.__init__.__qualname__, hash(p) == hash(Point(3, -4)))


EXPECTED_TREE = """
main
  default_tags
  Item.__post_init__
    Item.compute
  Item.__post_init__
    Item.compute
  Point.norm1
"""
