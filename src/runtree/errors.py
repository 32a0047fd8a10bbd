"""One error hierarchy for runtree.

Every error runtree raises on purpose derives from :class:`RuntreeError`, so callers can catch
the product's errors without catching unrelated ones.
"""

from __future__ import annotations


class RuntreeError(Exception):
    """Base class of every error runtree raises on purpose."""


class InstrumentError(RuntreeError):
    """The uploaded source cannot be instrumented.

    ``lineno`` and ``col`` are 1-based positions in the user's source (``col`` is 1-based
    too, as editors show it); ``msg`` is a human-readable reason without the position.
    """

    def __init__(self, msg: str, lineno: int, col: int) -> None:
        super().__init__(f"line {lineno}, column {col}: {msg}")
        self.msg = msg
        self.lineno = lineno
        self.col = col
