"""Private (name-mangled) methods and attributes; runtree's dunder hook names are not mangled."""


class Vault:
    def __init__(self):
        self.__secret = 42

    def __reveal(self):
        return self.__secret

    def open(self):
        return self.__reveal()

    def __dunder__(self):
        return "dunder"


class Sub(Vault):
    def __reveal(self):
        return "sub"

    def open_sub(self):
        return self.__reveal(), self._Vault__reveal()


def main():
    s = Sub()
    return (s.open(), s.open_sub(), Vault._Vault__reveal.__qualname__, s.__dunder__(),
            sorted(k for k in vars(Vault) if "reveal" in k))


EXPECTED_TREE = """
main
  Vault.__init__
  Vault.open
    Vault.__reveal
  Sub.open_sub
    Sub.__reveal
    Vault.__reveal
  Vault.__dunder__
"""
