"""Capturing arguments and return values must not run user code: a __getstate__, __reduce__,
__repr__ or __getattr__ defined in the program has side effects the program can observe."""
import threading

EVENTS = []


class Stateful:
    def __init__(self, v):
        self.v = v

    def __getstate__(self):
        EVENTS.append("getstate")
        return {"v": self.v}


class Reducible:
    def __reduce__(self):
        EVENTS.append("reduce")
        return (Reducible, ())


class Unpicklable:
    def __init__(self):
        self.lock = threading.Lock()

    def __repr__(self):
        EVENTS.append("repr")
        return "Unpicklable()"


class Dynamic:
    def __getattr__(self, name):
        EVENTS.append("getattr " + name)
        raise AttributeError(name)


def consume(*objects):
    return len(objects)


def produce():
    return Stateful(2)


def main():
    EVENTS.clear()
    consume(Stateful(1), Reducible(), Unpicklable(), Dynamic())
    produce()
    return list(EVENTS)


EXPECTED_TREE = """
main
  Stateful.__init__
  Unpicklable.__init__
  consume
  produce
    Stateful.__init__
"""
