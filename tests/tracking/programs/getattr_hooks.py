"""__getattr__ fallbacks and a __getattribute__ override delegating to super(); hasattr."""


class Proxy:
    def __init__(self, target):
        object.__setattr__(self, "_target", target)

    def __getattr__(self, name):
        if name.startswith("secret"):
            raise AttributeError(f"no access to {name}")
        return getattr(self._target, name)

    def __setattr__(self, name, value):
        setattr(self._target, name, value)


class Audited:
    def __init__(self):
        self.reads = 0
        self.value = 5

    def __getattribute__(self, name):
        if name == "value":
            object.__setattr__(self, "reads", object.__getattribute__(self, "reads") + 1)
        return super().__getattribute__(name)


class Target:
    color = "red"


def main():
    p = Proxy(Target())
    p.size = 3
    a = Audited()
    return (p.color, p.size, hasattr(p, "secret_key"), a.value, a.value, a.reads)


EXPECTED_TREE = """
main
  Proxy.__init__
  Proxy.__setattr__
  Audited.__init__
  Proxy.__getattr__
  Proxy.__getattr__
  Proxy.__getattr__ [failed]
  Audited.__getattribute__
  Audited.__getattribute__
  Audited.__getattribute__
"""
