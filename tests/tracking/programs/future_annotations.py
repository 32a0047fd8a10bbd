"""from __future__ import annotations: annotations stay strings; get_type_hints resolves them."""
from __future__ import annotations

import typing
from dataclasses import dataclass


@dataclass
class Node:
    value: int
    children: list[Node] | None = None

    def total(self) -> int:
        return self.value + sum(c.total() for c in self.children or [])


def build(depth: int, value: Node | None = None) -> Node:
    return Node(depth, [build(depth - 1)] if depth else None)


def main():
    tree = build(2)
    return (tree.total(), build.__annotations__, Node.__annotations__,
            typing.get_type_hints(build), Node.total.__annotations__)


EXPECTED_TREE = """
main
  build
    build
      build
  Node.total
    Node.total
      Node.total
"""
