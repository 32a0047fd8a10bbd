"""Plain calls: defaults, *args, keyword-only, **kwargs, positional-only, early returns."""


def add(a, b=2, *rest, scale=1, **extra):
    return (a + b + sum(rest)) * scale + len(extra)


def pos_only(x, y, /, z=3):
    return x * y * z


def early(n):
    if n < 0:
        return "negative"
    for i in range(n):
        if i == 3:
            return i
    # falls off the end: None


def main():
    return [add(1), add(1, 2, 3, 4, scale=2, k=1), pos_only(2, 3), early(-1), early(10), early(2)]


EXPECTED_TREE = """
main
  add
  add
  pos_only
  early
  early
  early
"""
