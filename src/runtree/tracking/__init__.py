"""The runtime inside user code: steps, recordings, capture. Standard library only."""

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .capture import Captured, CapturePolicy
    from .recording import Recording, record
    from .records import COMPLETED, FAILED, INTERRUPTED, RUNNING, Aggregate
    from .render import format_duration, render_tree
    from .step import Step

# Imported when first used: `runtree show` reads `render.format_duration` and needs neither
# the recording runtime nor capture (which import the C accelerator and the previews).
lazy_exports(
    __name__,
    {
        "COMPLETED": ".records",
        "FAILED": ".records",
        "INTERRUPTED": ".records",
        "RUNNING": ".records",
        "Aggregate": ".records",
        "CapturePolicy": ".capture",
        "Captured": ".capture",
        "Recording": ".recording",
        "Step": ".step",
        "format_duration": ".render",
        "record": ".recording",
        "render_tree": ".render",
    },
)

__all__ = [
    "COMPLETED",
    "FAILED",
    "INTERRUPTED",
    "RUNNING",
    "Aggregate",
    "CapturePolicy",
    "Captured",
    "Recording",
    "Step",
    "format_duration",
    "record",
    "render_tree",
]
