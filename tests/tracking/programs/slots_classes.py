"""__slots__ classes: inheritance, super(), missing attributes, no __dict__."""
class P:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def total(self):
        return self.x + self.y


class Q(P):
    __slots__ = ("z",)

    def __init__(self, x, y, z):
        super().__init__(x, y)
        self.z = z

    def total(self):
        return super().total() + self.z


def describe(obj):
    return type(obj).__name__, obj.total()


def main():
    q = Q(1, 2, 3)
    errors = []
    try:
        q.w = 1
    except AttributeError as exc:
        errors.append(str(exc))
    try:
        P(1, 2).__dict__
    except AttributeError as exc:
        errors.append(str(exc))
    try:
        P.__new__(P).total()
    except AttributeError as exc:
        errors.append(str(exc))
    return q.total(), errors, P.__slots__, hasattr(q, "__dict__"), describe(q)


EXPECTED_TREE = """
main
  Q.__init__
    P.__init__
  P.__init__
  P.total [failed]
  Q.total
    P.total
  describe
    Q.total
      P.total
"""
