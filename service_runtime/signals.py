"""Graceful stop on SIGINT/SIGTERM, shared by both services: the first signal asks, the second insists."""

from __future__ import annotations

import signal
from typing import AsyncIterator, Callable

import trio
from loguru import logger


async def stop_on_signals(
    signals: AsyncIterator[int], request_stop: Callable[[], None], hard_stop: trio.CancelScope
) -> None:
    asked = False
    async for signum in signals:
        name = signal.Signals(signum).name
        if not asked:
            asked = True
            logger.info(f"Received {name}; stopping")
            request_stop()
        else:
            logger.warning(f"Received {name} again; stopping at once")
            hard_stop.cancel()
