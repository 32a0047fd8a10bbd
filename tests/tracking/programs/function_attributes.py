"""__name__, __qualname__, __doc__, __module__, __defaults__, __kwdefaults__, __annotations__,
__dict__ and function identity through attribute assignment."""


def documented(a: int, b: "str" = "x", *, c: float = 1.5, d=None) -> list:
    """First line.

        Indented continuation (dedented on 3.13+ the same way for both).
    """
    return [a, b, c, d]


def undocumented(x=[]):
    x.append(1)
    return len(x)


def string_not_first(x):
    x = x + 1
    "not a docstring"
    return x


def only_doc():
    "Only a docstring."


def fstring_is_not_doc():
    f"{1}"
    return 1


class Holder:
    def method(self, q: int = 3) -> None:
        "Method doc."

    @staticmethod
    def static(*, k=9):
        return k


documented.custom = "attr"


def facts(fn):
    return (fn.__name__, fn.__qualname__, fn.__doc__, fn.__module__, fn.__defaults__,
            fn.__kwdefaults__, fn.__annotations__, dict(fn.__dict__))


def main():
    before = undocumented.__defaults__[0][:]
    calls = (undocumented(), undocumented())
    return ([facts(f) for f in (documented, undocumented, string_not_first, only_doc,
                                fstring_is_not_doc, Holder.method, Holder.static)],
            before, calls, undocumented.__defaults__, only_doc(), string_not_first(1),
            fstring_is_not_doc(), Holder().method())


EXPECTED_TREE = """
main
  undocumented
  undocumented
  facts
  facts
  facts
  facts
  facts
  facts
  facts
  only_doc
  string_not_first
  fstring_is_not_doc
  Holder.method
"""
