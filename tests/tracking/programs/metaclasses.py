"""Metaclasses with __prepare__, __new__ (zero-argument super), __init__ and __call__."""


class Registry(type):
    registry = []

    @classmethod
    def __prepare__(mcls, name, bases, **kwargs):
        return {"_prepared": True}

    def __new__(mcls, name, bases, namespace, **kwargs):
        cls = super().__new__(mcls, name, bases, namespace)
        mcls.registry.append(name)
        return cls

    def __init__(cls, name, bases, namespace, **kwargs):
        super().__init__(name, bases, namespace)
        cls.tag = kwargs.get("tag", "none")

    def __call__(cls, *args, **kwargs):
        instance = super().__call__(*args, **kwargs)
        instance.created_by = "meta"
        return instance


class Plugin(metaclass=Registry, tag="base"):
    def __init__(self, v):
        self.v = v


def build():
    class Local(Plugin, tag="local"):
        def __init__(self, v):
            super().__init__(v * 2)

    return Local


def main():
    L = build()
    obj = L(5)
    return (list(Registry.registry), L.tag, Plugin.tag, obj.v, obj.created_by, type(L).__name__,
            L._prepared, L.__qualname__)


EXPECTED_TREE = """
main
  build
    Registry.__prepare__
    Registry.__new__
    Registry.__init__
  Registry.__call__
    build.<locals>.Local.__init__
      Plugin.__init__
"""
