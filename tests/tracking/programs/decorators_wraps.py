"""User decorators: functools.wraps keeps __wrapped__/__name__/__doc__; factories; classes."""
import functools
import inspect


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def repeat(times):
    def decorate(func):
        @functools.wraps(func)
        def runner(*args):
            return [func(*args) for _ in range(times)]

        return runner

    return decorate


class CountCalls:
    def __init__(self, func):
        functools.update_wrapper(self, func)
        self.func = func
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self.func(*args)


def plain_decorator(func):
    func.tagged = True
    return func


@logged
def greet(name: str) -> str:
    """Say hello."""
    return f"hi {name}"


@repeat(2)
@logged
def twice(x):
    return x + 1


@CountCalls
def counted(x):
    return -x


@plain_decorator
def tagged(a, *, b=1):
    return a + b


def main():
    return (greet("bo"), greet.__name__, greet.__doc__, greet.__wrapped__.__name__,
            greet.__annotations__, str(inspect.signature(greet)), twice(1),
            twice.__wrapped__.__wrapped__.__name__, inspect.unwrap(twice).__qualname__,
            counted(3), counted(4), counted.calls, counted.__name__, counted.__wrapped__.__name__,
            tagged(1), tagged.tagged, str(inspect.signature(tagged)))


EXPECTED_TREE = """
main
  logged.<locals>.wrapper
    greet
  repeat.<locals>.decorate.<locals>.runner
    logged.<locals>.wrapper
      twice
    logged.<locals>.wrapper
      twice
  CountCalls.__call__
    counted
  CountCalls.__call__
    counted
  tagged
"""
