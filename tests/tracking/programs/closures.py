"""Closures: nonlocal counters, late binding in loops, cells and free variables."""


def counter():
    count = 0

    def inc(step=1):
        nonlocal count
        count += step
        return count

    def get():
        return count

    return inc, get


def late_binding():
    fns = []
    for i in range(3):
        def f():
            return i

        fns.append(f)
    return [fn() for fn in fns]


def main():
    inc, get = counter()
    inc()
    inc(5)
    cells = [c.cell_contents for c in inc.__closure__]
    return (get(), late_binding(), inc.__code__.co_freevars, counter.__code__.co_cellvars,
            cells, get.__code__.co_freevars)


EXPECTED_TREE = """
main
  counter
  counter.<locals>.inc
  counter.<locals>.inc
  counter.<locals>.get
  late_binding
    late_binding.<locals>.f
    late_binding.<locals>.f
    late_binding.<locals>.f
"""
