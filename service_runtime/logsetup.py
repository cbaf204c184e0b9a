"""Each service's log, in the line format the original's technicians know:

    24.09.15 - 14:39:17.55: Sync started

to HOME/logs/<service>.log (rotated, compressed, kept for a while) and to stderr. Warnings and
errors carry a word saying so after the time. Values of variables are never shown with a
traceback (`diagnose=False`), so no password, token or key can leak into a log that way.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from loguru import logger

from .config import LogConfig
from .home import Home

if TYPE_CHECKING:
    from loguru import Record

TIME_FORMAT = "{time:DD.MM.YY - HH:mm:ss.SS}"
_LEVEL_WORDS = {"WARNING": "Warning: ", "ERROR": "Error: ", "CRITICAL": "Critical: "}


def _line_format(record: Record) -> str:
    record["extra"]["level_word"] = _LEVEL_WORDS.get(record["level"].name, "")
    return TIME_FORMAT + ": {extra[level_word]}{message}\n{exception}"


def configure_logging(
    home: Home,
    service: str,
    config: LogConfig = LogConfig(),
    *,
    stderr: TextIO | None = sys.stderr,
    verbose: bool = False,
) -> None:
    """Send the process's log to the service's file (and stderr). Call once, at start."""
    level = "DEBUG" if verbose else "INFO"
    logger.remove()
    logger.add(
        home.log_file(service),
        format=_line_format,
        level=level,
        rotation=config.rotation,
        retention=config.retention,
        compression=config.compression,
        encoding="utf-8",
        backtrace=False,
        diagnose=False,
    )
    if stderr is not None:
        logger.add(stderr, format=_line_format, level=level, backtrace=False, diagnose=False, colorize=False)
