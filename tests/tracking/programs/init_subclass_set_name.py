"""__init_subclass__ with class keywords, and __set_name__ / __get__ on descriptors."""


class PluginBase:
    plugins = {}

    def __init_subclass__(cls, /, key=None, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.key = key or cls.__name__.lower()
        PluginBase.plugins[cls.key] = cls.__name__


class Named:
    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return f"{self.name}@{type(obj).__name__}"


def define():
    class A(PluginBase, key="alpha"):
        label = Named()

    class B(A):
        pass

    return A, B


def main():
    A, B = define()
    try:
        class Bad(PluginBase, unknown=1):
            pass
    except TypeError as exc:
        error = str(exc)
    return sorted(PluginBase.plugins.items()), B.key, A().label, B().label, error


EXPECTED_TREE = """
main
  define
    Named.__set_name__
    PluginBase.__init_subclass__
    PluginBase.__init_subclass__
  PluginBase.__init_subclass__ [failed]
  Named.__get__
  Named.__get__
"""
