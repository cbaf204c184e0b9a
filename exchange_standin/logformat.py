"""The emulator's log goes to stderr only, in the project's line format."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from loguru import logger

from service_runtime.logsetup import TIME_FORMAT

if TYPE_CHECKING:
    from loguru import Record

_LEVEL_WORDS = {"WARNING": "Warning: ", "ERROR": "Error: ", "CRITICAL": "Critical: "}


def _line_format(record: Record) -> str:
    record["extra"]["level_word"] = _LEVEL_WORDS.get(record["level"].name, "")
    return TIME_FORMAT + ": {extra[level_word]}{message}\n{exception}"


def log_to_stderr(verbose: bool = False) -> None:
    logger.remove()
    logger.add(
        sys.stderr,
        format=_line_format,
        level="DEBUG" if verbose else "INFO",
        backtrace=False,
        diagnose=False,
        colorize=False,
    )
