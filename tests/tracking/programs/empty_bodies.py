"""Functions whose body is only a docstring, `...`, `pass`, one-liners, a docstring plus code on
the def line's continuation, and classes with only docstrings."""


def only_doc():
    """Nothing else."""


def ellipsis_body(): ...


def pass_body():
    pass


def one_liner(x): return x * 2


def doc_then_return():
    "doc"; return 5  # noqa: E702


class OnlyDoc:
    """A class with only a docstring."""


class Methods:
    def empty(self):
        pass

    def doc(self):
        "method doc"


def main():
    return (only_doc(), ellipsis_body(), pass_body(), one_liner(3), doc_then_return(),
            Methods().empty(), Methods().doc(), only_doc.__doc__, doc_then_return.__doc__,
            OnlyDoc.__doc__, Methods.doc.__doc__, ellipsis_body.__doc__)


EXPECTED_TREE = """
main
  only_doc
  ellipsis_body
  pass_body
  one_liner
  doc_then_return
  Methods.empty
  Methods.doc
"""
