"""Enums with methods, classmethods, _missing_, _generate_next_value_, __str__ overrides."""
import enum


class Color(enum.Enum):
    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        return name.lower()

    RED = enum.auto()
    GREEN = enum.auto()

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str) and value.lower() in ("red", "green"):
            return cls(value.lower())
        return None

    def shout(self):
        return self.value.upper()

    def __str__(self):
        return f"Color:{self.name}"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2

    @property
    def is_high(self):
        return self is Level.HIGH


def main():
    try:
        Color("blue")
    except ValueError as exc:
        error = str(exc)
    return (Color("RED").shout(), str(Color.GREEN), Level(2).is_high, error,
            [c.value for c in Color], Color._generate_next_value_.__qualname__)


EXPECTED_TREE = """
main
  Color._missing_
  Color._missing_
  Color.shout
  Color.__str__
  Level.is_high
"""
