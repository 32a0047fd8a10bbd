"""How a long-running command (``serve``, ``worker``) logs: its ``--log-format`` checked, the
logging configuration it selects, and the command's own messages in that format."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from rich.text import Text

from .errors import CliError
from .output import make_console


def check_log_format(log_format: str | None) -> None:
    """Refuse a ``--log-format`` that is not a known format (before anything starts)."""
    from ..environment import LOG_FORMATS

    if log_format is not None and log_format not in LOG_FORMATS:
        raise CliError(f"--log-format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


def configure_logging(log_format: str) -> dict[str, Any] | None:
    """Apply the logging configuration of ``log_format`` (:func:`runtree.api.logs.logging_config`)
    from the first line on, and return it (``None``: text, Python's defaults)."""
    from ..api.logs import logging_config

    config = logging_config(log_format)
    if config is not None:
        logging.config.dictConfig(config)
    return config


class Messages:
    """Where a command says what it does: the console (text), or log records of the logger
    ``name`` on stderr like every other line of its log (``--log-format json``)."""

    def __init__(self, log_format: str, name: str) -> None:
        self.json = log_format == "json"
        self.log = logging.getLogger(name)

    def say(
        self,
        message: str,
        *,
        warning: bool = False,
        stderr: bool = False,
        style: str = "",
        **fields: object,
    ) -> None:
        if self.json:
            level = logging.WARNING if warning else logging.INFO
            self.log.log(level, "%s", message, extra={"fields": fields})
        else:
            style = "bold red" if warning else style
            make_console(stderr=stderr).print(Text(message, style=style), soft_wrap=True)
