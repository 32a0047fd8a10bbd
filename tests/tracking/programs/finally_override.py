"""try/finally where the finally returns (overriding a return or swallowing an exception),
break/continue through finally, and a finally that raises."""
import traceback


def override_return():
    try:
        return "try"
    finally:
        return "finally"  # noqa: B012


def swallow():
    try:
        raise ValueError("lost")
    finally:
        return "swallowed"  # noqa: B012


def loop_finally():
    out = []
    for i in range(4):
        try:
            if i == 1:
                continue
            if i == 3:
                break
            out.append(i)
        finally:
            out.append(f"f{i}")
    return out


def nested_finally():
    try:
        try:
            raise KeyError("a")
        finally:
            raise ValueError("b")
    except ValueError as exc:
        return repr(exc.__context__)


def finally_raises():
    try:
        return 1
    finally:
        raise RuntimeError("from finally")


def main():
    try:
        finally_raises()
    except RuntimeError as exc:
        raised = (str(exc), [f.lineno for f in traceback.extract_tb(exc.__traceback__)])
    return override_return(), swallow(), loop_finally(), nested_finally(), raised


EXPECTED_TREE = """
main
  finally_raises [failed]
  override_return
  swallow
  loop_finally
  nested_finally
"""
