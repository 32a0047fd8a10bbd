"""global and nonlocal rebinding across several scopes."""
TOTAL = 0


def bump(n):
    global TOTAL
    TOTAL += n
    return TOTAL


def outer():
    x = 1

    def mid():
        nonlocal x
        x += 10

        def inner():
            nonlocal x
            x *= 2
            return x

        return inner()

    mid()
    return x


def reads_global_before_assignment():
    try:
        print(UNDEFINED_NAME)
    except NameError as exc:
        return str(exc)


def local_shadow():
    try:
        TOTAL += 1  # local: UnboundLocalError
    except UnboundLocalError as exc:
        return str(exc)


def main():
    global TOTAL
    TOTAL = 0
    bump(1)
    bump(2)
    return TOTAL, outer(), reads_global_before_assignment(), local_shadow()


EXPECTED_TREE = """
main
  bump
  bump
  outer
    outer.<locals>.mid
      outer.<locals>.mid.<locals>.inner
  reads_global_before_assignment
  local_shadow
"""
