"""Descriptors: __set_name__, data descriptors validating in __set__, non-data descriptors
caching into __dict__, functools.cached_property."""
import functools


class Positive:
    def __set_name__(self, owner, name):
        self.private = "_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return getattr(obj, self.private)

    def __set__(self, obj, value):
        if value <= 0:
            raise ValueError(f"{self.private[1:]} must be positive")
        setattr(obj, self.private, value)

    def __delete__(self, obj):
        delattr(obj, self.private)


class Lazy:
    def __init__(self, func):
        self.func = func

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        value = self.func(obj)
        obj.__dict__[self.func.__name__] = value
        return value


def make_order_class():
    class Order:
        qty = Positive()

        def __init__(self, qty):
            self.qty = qty

        @Lazy
        def expensive(self):
            return self.qty * 100

        @functools.cached_property
        def cached(self):
            return self.qty + 1

    return Order


def main():
    Order = make_order_class()
    order = Order(2)
    try:
        order.qty = -1
    except ValueError as exc:
        error = str(exc)
    values = (order.expensive, order.expensive, order.cached, order.cached)
    del order.qty
    return error, values, hasattr(order, "_qty"), type(Order.__dict__["qty"]).__name__


EXPECTED_TREE = """
main
  make_order_class
    Lazy.__init__
    Positive.__set_name__
  make_order_class.<locals>.Order.__init__
    Positive.__set__
  Positive.__set__ [failed]
  Lazy.__get__
    make_order_class.<locals>.Order.expensive
      Positive.__get__
  make_order_class.<locals>.Order.cached
    Positive.__get__
  Positive.__delete__
"""
