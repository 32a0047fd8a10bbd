"""Generator return values (StopIteration.value, yield from result), a send-driven averager,
and PEP 479 (StopIteration raised inside a generator becomes RuntimeError)."""


def averager():
    total = count = 0
    average = None
    while True:
        value = yield average
        if value is None:
            return count, average
        total += value
        count += 1
        average = total / count


def delegate(results):
    while True:
        results.append((yield from averager()))


def leaky():
    yield 1
    raise StopIteration("inner stop")


def main():
    avg = averager()
    next(avg)
    avg.send(10)
    avg.send(20)
    try:
        avg.send(None)
    except StopIteration as stop:
        direct = stop.value
    results = []
    group = delegate(results)
    next(group)
    for v in (1, 2, 3):
        group.send(v)
    group.send(None)
    group.close()
    try:
        list(leaky())
    except RuntimeError as exc:
        pep479 = (str(exc), type(exc.__cause__).__name__, str(exc.__cause__))
    return direct, results, pep479


EXPECTED_TREE = """
main
  averager
  delegate
    averager
    averager
  leaky [failed]
"""
