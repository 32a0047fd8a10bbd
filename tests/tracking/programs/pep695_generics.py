# requires: 3.12
"""PEP 695: generic functions and classes with type parameters, `type` aliases, methods using
super() inside a generic class, and __type_params__."""


def first[T](items: list[T]) -> T:
    return items[0]


class Stack[T]:
    def __init__(self) -> None:
        self.items: list[T] = []

    def push(self, item: T) -> "Stack[T]":
        self.items.append(item)
        return self

    def peek(self) -> T:
        return self.items[-1]


class Counted[T](Stack[T]):
    def push(self, item: T) -> "Counted[T]":
        super().push(item)
        return self

    def kind(self):
        return __class__.__name__


type Pairs[K] = list[tuple[K, K]]


def main():
    s = Counted[int]().push(1).push(2)
    return (first([5, 6]), s.peek(), s.kind(), first.__type_params__.__len__(),
            Stack.__type_params__[0].__name__, Pairs.__value__.__class__.__name__,
            first.__qualname__, Counted.push.__qualname__, str(Pairs.__type_params__))


EXPECTED_TREE = """
main
  Stack.__init__
  Counted.push
    Stack.push
  Counted.push
    Stack.push
  first
  Stack.peek
  Counted.kind
"""
