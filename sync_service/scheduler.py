"""Run the cycle every `interval` seconds, one at a time, until asked to stop."""

from __future__ import annotations

from typing import Awaitable, Callable

import trio


class CycleScheduler:
    def __init__(self, cycle: Callable[[], Awaitable[object]], interval: float) -> None:
        self.cycle = cycle
        self.interval = interval
        self._stop = trio.Event()

    def request_stop(self) -> None:
        """Stop after the running cycle, if any, or at once while waiting for the next."""
        self._stop.set()

    async def run(self) -> None:
        """A cycle at once, then one every `interval` seconds from the start of the last. A cycle
        that overruns delays the next rather than overlapping it; missed slots are not made up."""
        next_start = trio.current_time()
        while not self._stop.is_set():
            await self.cycle()
            next_start += self.interval
            now = trio.current_time()
            if next_start < now:
                next_start = now
            with trio.move_on_at(next_start):
                await self._stop.wait()
