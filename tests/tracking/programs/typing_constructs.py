"""typing: NamedTuple with methods and defaults, Generic classes, runtime Protocols,
@overload, TypedDict, get_type_hints on methods."""
import typing
from typing import Generic, NamedTuple, Protocol, TypedDict, TypeVar, overload, runtime_checkable

T = TypeVar("T")


class Pair(NamedTuple):
    left: int
    right: int = 0

    def total(self) -> int:
        return self.left + self.right


class Box(Generic[T]):
    def __init__(self, item: T) -> None:
        self.item = item

    def get(self) -> T:
        return self.item


@runtime_checkable
class HasTotal(Protocol):
    def total(self) -> int: ...


@overload
def coerce(x: int) -> int: ...
@overload
def coerce(x: str) -> str: ...
def coerce(x):
    return x


class Movie(TypedDict):
    title: str
    year: int


def main():
    p = Pair(2)
    box = Box[int](5)
    movie = Movie(title="x", year=1)
    return (p.total(), p._replace(right=3).total(), box.get(), isinstance(p, HasTotal),
            coerce("s"), movie, typing.get_type_hints(Box.get), typing.get_overloads(coerce).__len__(),
            Pair._fields, Pair.__new__.__defaults__)


EXPECTED_TREE = """
main
  Box.__init__
  Pair.total
  Pair.total
  Box.get
  coerce
"""
