"""gen.send / gen.throw / gen.close from different functions: the generator's own calls stay
under its step, and nobody else's calls end up under it (or under a finished step)."""


def note(x):
    return x


def echo():
    received = []
    try:
        while True:
            try:
                value = yield len(received)
            except KeyError as exc:
                note("caught")
                value = str(exc)
            received.append(value)
    except GeneratorExit:
        note("closing")
        raise
    finally:
        note("finally")


def driver(gen):
    next(gen)
    return gen.send("a")


def thrower(gen):
    result = gen.throw(KeyError("k"))
    note("thrower-after")
    return result


def closer(gen):
    gen.close()
    return note("closer-after")


def main():
    gen = echo()
    r1 = driver(gen)
    note("after-driver")
    r2 = thrower(gen)
    note("after-throw")
    r3 = closer(gen)
    note("after-close")
    return r1, r2, r3, gen.gi_frame is None


EXPECTED_TREE = """
main
  driver
    echo
      note
      note
      note
  note
  thrower
    note
  note
  closer
    note
  note
"""
