"""Class attributes the compiler derives from method bodies (Python 3.13:
__static_attributes__, __firstlineno__); None on older versions."""


class Widget:
    def __init__(self):
        self.width = 1
        self.height = 2

    def resize(self, k):
        self.width *= k
        self.scale = k
        return self.width


def main():
    w = Widget()
    return (w.resize(3), getattr(Widget, "__static_attributes__", None),
            getattr(Widget, "__firstlineno__", None), sorted(vars(w)))


EXPECTED_TREE = """
main
  Widget.__init__
  Widget.resize
"""
