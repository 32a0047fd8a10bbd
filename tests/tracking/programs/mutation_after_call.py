"""Inputs (and outputs) are captured at call time: later mutation does not change them."""


def register(items, meta):
    return len(items)


def make_list():
    return [1, 2]


def main():
    items = [1, 2]
    meta = {"k": [1]}
    n = register(items, meta)
    items.append(3)
    meta["k"].append(2)
    meta["new"] = 1
    produced = make_list()
    produced.append(99)
    return n, items, meta, produced


EXPECTED_TREE = """
main
  register
  make_list
"""
