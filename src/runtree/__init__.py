"""runtree: run plain Python functions and see exactly what they did.

Library API (stable)::

    code = runtree.instrument(source, "orders.py")
    ns = {"__name__": "orders"}
    exec(code, ns)
    with runtree.record() as rec:
        ns["calculate_order_total"](42)
    print(rec.render())
"""

from .errors import InstrumentError, RuntreeError
from .instrument import Analysis, analyze, instrument
from .tracking import Recording, Step, record

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "InstrumentError",
    "Recording",
    "RuntreeError",
    "Step",
    "analyze",
    "instrument",
    "record",
]
