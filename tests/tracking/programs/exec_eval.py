"""exec/eval inside instrumented functions: globals()/locals() access, functions defined by exec
(not instrumented: no steps) calling instrumented ones."""


def helper(x):
    return x + 100


def run_exec():
    ns = {"helper": helper}
    exec("def dynamic(v):\n    return helper(v) * 2\nresult = dynamic(1)", ns)
    return ns["result"], ns["dynamic"].__qualname__


def run_eval(expr):
    local_value = 3
    return eval(expr), eval("local_value + 1"), "helper" in globals()


def main():
    return run_exec(), run_eval("helper(2)"), eval("helper(5)")


EXPECTED_TREE = """
main
  run_exec
    helper
  run_eval
    helper
  helper
"""
