"""runtree: run plain Python functions and see exactly what they did.

Library API (stable)::

    code = runtree.instrument(source, "orders.py")
    ns = {"__name__": "orders"}
    exec(code, ns)
    with runtree.record() as rec:
        ns["calculate_order_total"](42)
    print(rec.render())
"""

from typing import TYPE_CHECKING

from .errors import InstrumentError, RuntreeError
from .lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .instrument import Analysis, analyze, instrument
    from .tracking import Recording, Step, record

# Imported when first used: the command line imports this package and needs neither.
lazy_exports(
    __name__,
    {
        "Analysis": ".instrument",
        "analyze": ".instrument",
        "instrument": ".instrument",
        "Recording": ".tracking",
        "Step": ".tracking",
        "record": ".tracking",
    },
)

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
