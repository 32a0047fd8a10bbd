"""Recursive generators delegating with yield from (tree traversal), consumed lazily."""


class Node:
    def __init__(self, value, *children):
        self.value = value
        self.children = children


def walk(node):
    yield node.value
    for child in node.children:
        yield from walk(child)


def visit(value):
    return value


def main():
    tree = Node(1, Node(2, Node(3)), Node(4))
    out = []
    for value in walk(tree):
        out.append(visit(value))
    return out


EXPECTED_TREE = """
main
  Node.__init__
  Node.__init__
  Node.__init__
  Node.__init__
  walk
    walk
      walk
    walk
  visit
  visit
  visit
  visit
"""
