"""Zero-argument super() and __class__ in methods, classmethods, generators, async methods and
nested functions (where super() fails the same way)."""
import asyncio


class Base:
    def __init__(self, x):
        self.x = x

    def describe(self):
        return f"Base({self.x})"

    @classmethod
    def create(cls, x):
        return cls(x)

    def items(self):
        yield self.x

    async def fetch(self):
        return self.x


class Child(Base):
    def __init__(self, x, y=0):
        super().__init__(x)
        self.y = y

    def describe(self):
        return "Child/" + super().describe()

    def which(self):
        return __class__.__name__

    @classmethod
    def create(cls, x):
        return super().create(x + 1)

    def items(self):
        yield from super().items()
        yield self.y

    async def fetch(self):
        return await super().fetch() + 1

    def broken(self):
        def inner():
            return super().describe()

        return inner()


class GrandChild(Child):
    def describe(self):
        return "Grand/" + super().describe()

    def which(self):
        return (__class__.__name__, super().which())


def main():
    g = GrandChild.create(1)
    try:
        g.broken()
    except RuntimeError as exc:
        error = str(exc)
    return (g.describe(), g.which(), list(g.items()), asyncio.run(g.fetch()), error,
            type(g).__name__)


EXPECTED_TREE = """
main
  Child.create
    Base.create
      Child.__init__
        Base.__init__
  Child.broken [failed]
    Child.broken.<locals>.inner [failed]
  GrandChild.describe
    Child.describe
      Base.describe
  GrandChild.which
    Child.which
  Child.items
    Base.items
  Child.fetch
    Base.fetch
"""
