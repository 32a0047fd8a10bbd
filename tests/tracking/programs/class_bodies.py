"""defs inside class bodies (one called while the class body runs), classes inside defs."""


def make_class(factor):
    class Scaler:
        def helper(v):
            return v * 2

        base = helper(factor)

        def scale(self, x):
            return x * self.base

        helper = staticmethod(helper)

        class Inner:
            def ping(self):
                return "pong"

    return Scaler


def main():
    S = make_class(3)
    s = S()
    return (s.scale(2), S.helper(5), S.__qualname__, S.scale.__qualname__,
            S.Inner().ping(), S.Inner.ping.__qualname__)


EXPECTED_TREE = """
main
  make_class
    make_class.<locals>.Scaler.helper
  make_class.<locals>.Scaler.scale
  make_class.<locals>.Scaler.helper
  make_class.<locals>.Scaler.Inner.ping
"""
