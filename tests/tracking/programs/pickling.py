"""Functions, classes, methods and instances pickle by reference exactly as before."""
import copy
import pickle


def top(x):
    return x + 1


class Thing:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

    @staticmethod
    def static():
        return "static"

    @classmethod
    def make(cls):
        return cls(7)


def make_local():
    def local():
        return 1

    return local


def main():
    f = pickle.loads(pickle.dumps(top))
    t = pickle.loads(pickle.dumps(Thing(4)))
    m = pickle.loads(pickle.dumps(Thing(5).get))
    try:
        pickle.dumps(make_local())
    except (AttributeError, pickle.PicklingError) as exc:
        error = (type(exc).__name__, str(exc))
    return (f is top, f(1), t.get(), m(), error, copy.deepcopy(Thing(6)).get(),
            pickle.loads(pickle.dumps(Thing.static))(), pickle.loads(pickle.dumps(Thing.make))().v,
            len(pickle.dumps(top)) == len(pickle.dumps(top, protocol=pickle.DEFAULT_PROTOCOL)))


EXPECTED_TREE = """
main
  Thing.__init__
  Thing.__init__
  make_local
  top
  Thing.get
  Thing.get
  Thing.__init__
  Thing.get
  Thing.static
  Thing.make
    Thing.__init__
"""
