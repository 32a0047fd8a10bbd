"""Generator corner cases: closing or throwing into an unstarted generator (no step), a
generator that ignores GeneratorExit, one raising mid-iteration, closing twice."""
import traceback


def log(x):
    return x


def plain_gen():
    log("started")
    yield 1
    yield 2


def stubborn():
    while True:
        try:
            yield "again"
        except GeneratorExit:
            log("ignoring exit")


def breaks_midway():
    yield 1
    raise ValueError("midway")


def tb_lines(exc):
    return [(f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]


def main():
    out = []
    unstarted = plain_gen()
    unstarted.close()
    out.append(unstarted.gi_frame is None)
    thrown = plain_gen()
    try:
        thrown.throw(KeyError("early"))
    except KeyError as exc:
        out.append(("early", tb_lines(exc)))
    s = stubborn()
    next(s)
    try:
        s.close()
    except RuntimeError as exc:
        out.append((str(exc), tb_lines(exc)))
    try:
        s.throw(ValueError("finish it"))  # ends it (otherwise gc would close it again)
    except ValueError as exc:
        out.append(str(exc))
    b = breaks_midway()
    try:
        for item in b:
            out.append(item)
    except ValueError as exc:
        out.append((str(exc), tb_lines(exc)))
    done = plain_gen()
    out.append(list(done))
    done.close()
    done.close()
    return out


EXPECTED_TREE = """
main
  tb_lines
  stubborn [failed]
    log
  tb_lines
  breaks_midway [failed]
  tb_lines
  plain_gen
    log
"""
