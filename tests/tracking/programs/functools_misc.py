"""functools.partial, partialmethod, singledispatch (registration by annotation and by type),
singledispatchmethod, reduce."""
import functools


def power(base, exp):
    return base**exp


square = functools.partial(power, exp=2)


@functools.singledispatch
def show(obj):
    return f"object {obj!r}"


@show.register
def _(obj: int):
    return f"int {obj}"


@show.register(list)
def _show_list(obj):
    return [show(x) for x in obj]


class Formatter:
    @functools.singledispatchmethod
    def fmt(self, arg):
        return "generic"

    @fmt.register
    def _(self, arg: str):
        return f"str {arg}"

    def scaled(self, value, factor):
        return value * factor

    doubled = functools.partialmethod(scaled, factor=2)


def add(a, b):
    return a + b


def main():
    f = Formatter()
    return (square(5), show(1), show("x"), show([1, "y"]), f.fmt("s"), f.fmt(1.5), f.doubled(4),
            functools.reduce(add, [1, 2, 3]), square.func.__name__, show.registry.keys().__len__())


EXPECTED_TREE = """
main
  power
  _
  show
  _show_list
    _
    show
  Formatter._
  Formatter.fmt
  Formatter.scaled
  add
  add
"""
