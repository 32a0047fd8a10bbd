"""Source in, checked and instrumented code out (pure: no I/O)."""

from .analysis import Analysis, Warning, analyze
from .compiler import instrument, parse, register_source

__all__ = ["Analysis", "Warning", "analyze", "instrument", "parse", "register_source"]
