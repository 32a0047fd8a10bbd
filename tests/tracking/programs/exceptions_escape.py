"""An exception raised deep in a call chain, inside a multi-line expression, escapes main():
traceback entries, line numbers and column ranges must be identical."""


def parse(text):
    return int(
        text
    )


def load(values):
    return [
        parse(v)
        for v in values
    ]


class Loader:
    def run(self, values):
        total = 0
        for item in load(values):
            total += item
        return total


def main():
    data = {"a": ["1", "2"], "b": ["3", "x"]}
    return sum(
        Loader().run(values)
        for values in data.values()
    )


EXPECTED_TREE = """
main [failed]
  Loader.run
    load
      parse
      parse
  Loader.run [failed]
    load [failed]
      parse
      parse [failed]
"""
