"""ExceptionGroup and except*: partial handling, re-raised remainders, nested groups."""


def fail(kind, msg):
    raise kind(msg)


def gather_errors():
    errors = []
    for kind, msg in [(ValueError, "v"), (TypeError, "t"), (KeyError, "k")]:
        try:
            fail(kind, msg)
        except Exception as exc:
            errors.append(exc)
    raise ExceptionGroup("many", errors)


def handle():
    caught = []
    try:
        gather_errors()
    except* ValueError as group:
        caught.append(("value", [str(e) for e in group.exceptions]))
    except* TypeError as group:
        caught.append(("type", len(group.exceptions)))
    return caught


def nested():
    seen = []
    try:
        raise ExceptionGroup("outer", [ValueError("x"), ExceptionGroup("inner", [OSError("y")])])
    except* OSError as group:
        seen.append(repr(group))
    except* ValueError as group:
        seen.append(repr(group))
    return seen


def main():
    try:
        handle()
    except* KeyError as group:
        leftover = [repr(e) for e in group.exceptions]
    result = nested()
    handle()
    return leftover, result


EXPECTED_TREE = """
main [failed]
  handle [failed]
    gather_errors [failed]
      fail [failed]
      fail [failed]
      fail [failed]
  nested
  handle [failed]
    gather_errors [failed]
      fail [failed]
      fail [failed]
      fail [failed]
"""
