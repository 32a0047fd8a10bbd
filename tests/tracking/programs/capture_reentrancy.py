"""A method whose return value's capture calls that same method: iter() of a list subclass
overriding __iter__ returns a list_iterator, and pickling that iterator iterates the list."""


class Bag(list):
    def __iter__(self):
        return super().__iter__()


def main():
    return list(Bag([1, 2])), [x * 2 for x in Bag([3])]


EXPECTED_TREE = """
main
  Bag.__iter__
  Bag.__iter__
"""
