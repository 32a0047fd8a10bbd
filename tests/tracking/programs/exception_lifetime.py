"""Objects referenced only by a handled exception's traceback (locals of the failed frames) are
freed when the exception is, not later: __del__ runs at the same point of the program."""

EVENTS = []


class Resource:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        EVENTS.append("freed " + self.name)


def fail(name):
    resource = Resource(name)
    raise ValueError(resource.name)


def main():
    EVENTS.clear()
    try:
        fail("a")
    except ValueError:
        EVENTS.append("handled")
    EVENTS.append("after")
    return list(EVENTS)


EXPECTED_TREE = """
main
  fail [failed]
    Resource.__init__
  Resource.__del__
"""
