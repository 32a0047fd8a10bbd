"""__del__ and weakref.finalize callbacks run when the last reference goes (refcounting):
their steps nest under the step that dropped the reference."""
import weakref

EVENTS = []


class Resource:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        EVENTS.append("del " + self.name)


def on_finalize(name):
    EVENTS.append("finalized " + name)


def use_and_drop():
    r = Resource("a")
    weakref.finalize(r, on_finalize, "a")
    del r
    return list(EVENTS)


def main():
    EVENTS.clear()
    return use_and_drop()


EXPECTED_TREE = """
main
  use_and_drop
    Resource.__init__
    Resource.__del__
    on_finalize
"""
