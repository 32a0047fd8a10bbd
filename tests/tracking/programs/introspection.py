"""inspect and code-object introspection: signatures, function kinds, source, code attributes."""
import asyncio
import inspect


def plain(a, b: int = 2, *args, c, d="x", **kw) -> str:
    """Plain function."""
    local_one = a
    return str(local_one)


def gen(n):
    for i in range(n):
        yield i


async def coro(x):
    await asyncio.sleep(0)
    return x


async def agen():
    yield 1


def outer():
    cell = 1

    def inner():
        return cell

    return inner


def code_facts(fn):
    code = fn.__code__
    return (code.co_name, code.co_qualname, code.co_argcount, code.co_posonlyargcount,
            code.co_kwonlyargcount, code.co_nlocals, code.co_varnames, code.co_cellvars,
            code.co_freevars, code.co_flags, code.co_firstlineno, code.co_filename.endswith(".py"))


def kinds(fn):
    return (inspect.isgeneratorfunction(fn), inspect.iscoroutinefunction(fn),
            inspect.isasyncgenfunction(fn), inspect.isfunction(fn),
            asyncio.iscoroutinefunction(fn))


def main():
    fns = [plain, gen, coro, agen, outer, outer()]
    g = gen(2)
    state_before = inspect.getgeneratorstate(g)
    next(g)
    suspended_line = g.gi_frame.f_lineno
    state_during = inspect.getgeneratorstate(g)
    locals_during = dict(inspect.getgeneratorlocals(g))  # a copy: 3.13 returns a live proxy
    rest = list(g)
    return {
        "signatures": [str(inspect.signature(f)) for f in fns],
        "kinds": [kinds(f) for f in fns],
        "code": [code_facts(f) for f in fns],
        "source": inspect.getsource(plain),
        "sourcelines": inspect.getsourcelines(gen)[1],
        "argspec": repr(inspect.getfullargspec(plain)),
        "doc": inspect.getdoc(plain),
        "generator": (state_before, suspended_line, state_during, locals_during, rest,
                      inspect.getgeneratorstate(g)),
    }


EXPECTED_TREE = """
main
  outer
  gen
  kinds
  kinds
  kinds
  kinds
  kinds
  kinds
  code_facts
  code_facts
  code_facts
  code_facts
  code_facts
  code_facts
"""
