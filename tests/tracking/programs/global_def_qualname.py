"""A def (and a class) declared `global` inside another function: Python gives them a top-level
__qualname__; the step names must be those qualnames."""


def define():
    global late, LateClass

    def late():
        return "late"

    class LateClass:
        def method(self):
            return "m"

    return late.__qualname__, LateClass.method.__qualname__


def main():
    names = define()
    return names, late(), LateClass().method()


EXPECTED_TREE = """
main
  define
  late
  LateClass.method
"""
