"""The runtime inside user code: steps, recordings, capture. Standard library only."""

from .capture import Captured, CapturePolicy
from .recording import Recording, record
from .records import COMPLETED, FAILED, INTERRUPTED, RUNNING, Aggregate
from .render import format_duration, render_tree
from .step import Step

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
