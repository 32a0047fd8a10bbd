"""Mutual recursion across functions and methods."""


def is_even(n):
    return True if n == 0 else is_odd(n - 1)


def is_odd(n):
    return False if n == 0 else is_even(n - 1)


class Walker:
    def ping(self, n):
        return n if n == 0 else self.pong(n - 1)

    def pong(self, n):
        return n if n == 0 else self.ping(n - 1)


def main():
    return is_even(3), Walker().ping(2)


EXPECTED_TREE = """
main
  is_even
    is_odd
      is_even
        is_odd
  Walker.ping
    Walker.pong
      Walker.ping
"""
