"""Capture loguru messages in a list, for tests that check what a component logs."""

from contextlib import contextmanager

from loguru import logger


@contextmanager
def captured_log():
    lines: list[str] = []
    sink_id = logger.add(lambda message: lines.append(message.record["message"]), level="DEBUG", format="{message}")
    try:
        yield lines
    finally:
        logger.remove(sink_id)
